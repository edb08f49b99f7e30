-- One period's items as fetched (incoming_portal_metric) into mart.portal_metric, keeping the
-- history as portal_merge_score.sql does, per (unit, item): an item in scope (of a unit of the scope,
-- of a group fetched) that the portal no longer publishes has its row closed; one of a group not
-- fetched is left as it is. Returns the counts:
-- fetched, new_rows, changed, unchanged, withdrawn.
CREATE TEMP TABLE portal_metric_verdict ON COMMIT DROP AS
WITH published AS (
    SELECT metric.*
    FROM mart.portal_metric AS metric
    WHERE
        metric.period_type = %(period_type)s
        AND metric.period_start = %(period_start)s
        AND metric.superseded_at IS NULL
        AND metric.unit_code IN (SELECT scope.unit_code FROM incoming_portal_scope AS scope)
)

SELECT
    coalesce(incoming.unit_code, published.unit_code) AS unit_code,
    coalesce(incoming.item_code, published.item_code) AS item_code,
    CASE
        WHEN published.unit_code IS NULL THEN 'new'
        WHEN incoming.unit_code IS NULL AND published.portal_group = ANY(%(portal_groups)s) THEN 'withdrawn'
        WHEN incoming.unit_code IS NULL THEN 'not_fetched'
        WHEN (
            incoming.portal_group IS DISTINCT FROM published.portal_group
            OR incoming.ratio IS DISTINCT FROM published.ratio
            OR incoming.score IS DISTINCT FROM published.score
            OR incoming.max_score IS DISTINCT FROM published.max_score
            OR incoming.numerator IS DISTINCT FROM published.numerator
            OR incoming.denominator IS DISTINCT FROM published.denominator
        ) THEN 'changed'
        ELSE 'unchanged'
    END AS verdict
FROM incoming_portal_metric AS incoming
FULL JOIN published ON incoming.unit_code = published.unit_code AND incoming.item_code = published.item_code;

UPDATE mart.portal_metric AS metric
SET superseded_at = %(fetched_at)s
FROM portal_metric_verdict AS verdict
WHERE
    metric.period_type = %(period_type)s
    AND metric.period_start = %(period_start)s
    AND metric.superseded_at IS NULL
    AND metric.unit_code = verdict.unit_code
    AND metric.item_code = verdict.item_code
    AND verdict.verdict IN ('changed', 'withdrawn');

INSERT INTO mart.portal_metric (
    period_type, period_start, unit_code, item_code, portal_group, ratio, score, max_score, numerator,
    denominator, fetched_at
)
SELECT
    %(period_type)s,
    %(period_start)s,
    incoming.unit_code,
    incoming.item_code,
    incoming.portal_group,
    incoming.ratio,
    incoming.score,
    incoming.max_score,
    incoming.numerator,
    incoming.denominator,
    %(fetched_at)s
FROM incoming_portal_metric AS incoming
INNER JOIN portal_metric_verdict AS verdict USING (unit_code, item_code)
WHERE verdict.verdict IN ('new', 'changed');

SELECT
    count(*) FILTER (WHERE verdict NOT IN ('withdrawn', 'not_fetched')) AS fetched,
    count(*) FILTER (WHERE verdict = 'new') AS new_rows,
    count(*) FILTER (WHERE verdict = 'changed') AS changed,
    count(*) FILTER (WHERE verdict = 'unchanged') AS unchanged,
    count(*) FILTER (WHERE verdict = 'withdrawn') AS withdrawn
FROM portal_metric_verdict;
