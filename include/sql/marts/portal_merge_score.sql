-- One period's unit scores as fetched (incoming_portal_score) into mart.portal_score, keeping the
-- history (V009__portal_scores.sql): same numbers write nothing; changed ones close the current
-- row at this fetch's time and add the new one; a unit in scope the portal no longer lists has
-- its row closed. Returns the counts: fetched, new_rows, changed, unchanged, withdrawn.
CREATE TEMP TABLE portal_score_verdict ON COMMIT DROP AS
WITH published AS (
    SELECT score.*
    FROM mart.portal_score AS score
    WHERE
        score.period_type = %(period_type)s
        AND score.period_start = %(period_start)s
        AND score.superseded_at IS NULL
        AND score.unit_code IN (SELECT scope.unit_code FROM incoming_portal_scope AS scope)
)

SELECT
    coalesce(incoming.unit_code, published.unit_code) AS unit_code,
    CASE
        WHEN published.unit_code IS NULL THEN 'new'
        WHEN incoming.unit_code IS NULL THEN 'withdrawn'
        WHEN (
            incoming.unit_name IS DISTINCT FROM published.unit_name
            OR incoming.transparency_score IS DISTINCT FROM published.transparency_score
            OR incoming.progress_score IS DISTINCT FROM published.progress_score
            OR incoming.online_service_score IS DISTINCT FROM published.online_service_score
            OR incoming.online_payment_score IS DISTINCT FROM published.online_payment_score
            OR incoming.digitization_score IS DISTINCT FROM published.digitization_score
            OR incoming.satisfaction_score IS DISTINCT FROM published.satisfaction_score
            OR incoming.total_score IS DISTINCT FROM published.total_score
        ) THEN 'changed'
        ELSE 'unchanged'
    END AS verdict
FROM incoming_portal_score AS incoming
FULL JOIN published ON incoming.unit_code = published.unit_code;

UPDATE mart.portal_score AS score
SET superseded_at = %(fetched_at)s
FROM portal_score_verdict AS verdict
WHERE
    score.period_type = %(period_type)s
    AND score.period_start = %(period_start)s
    AND score.superseded_at IS NULL
    AND score.unit_code = verdict.unit_code
    AND verdict.verdict IN ('changed', 'withdrawn');

INSERT INTO mart.portal_score (
    period_type, period_start, unit_code, unit_name, transparency_score, progress_score,
    online_service_score, online_payment_score, digitization_score, satisfaction_score, total_score,
    fetched_at
)
SELECT
    %(period_type)s,
    %(period_start)s,
    incoming.unit_code,
    incoming.unit_name,
    incoming.transparency_score,
    incoming.progress_score,
    incoming.online_service_score,
    incoming.online_payment_score,
    incoming.digitization_score,
    incoming.satisfaction_score,
    incoming.total_score,
    %(fetched_at)s
FROM incoming_portal_score AS incoming
INNER JOIN portal_score_verdict AS verdict USING (unit_code)
WHERE verdict.verdict IN ('new', 'changed');

SELECT
    count(*) FILTER (WHERE verdict <> 'withdrawn') AS fetched,
    count(*) FILTER (WHERE verdict = 'new') AS new_rows,
    count(*) FILTER (WHERE verdict = 'changed') AS changed,
    count(*) FILTER (WHERE verdict = 'unchanged') AS unchanged,
    count(*) FILTER (WHERE verdict = 'withdrawn') AS withdrawn
FROM portal_score_verdict;
