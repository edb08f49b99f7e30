-- Rewrite mart.score_766 for the periods of refresh_period from the item scores already in
-- mart.indicator_value: six group scores, the total, what could be scored, the rank among the
-- units of the same type under the same parent ("7/8 districts") and the rating band
-- (docs/indicators.md, "The scorecard").

DELETE FROM mart.score_766 AS s
USING refresh_period AS p
WHERE s.period_type = p.period_type AND s.period_start = p.period_start;

INSERT INTO mart.score_766 (
    period_type, period_start, unit_code, unit_scheme, unit_type, parent_code,
    transparency_score, progress_score, online_service_score, online_payment_score,
    digitization_score, satisfaction_score, total_score, max_score, max_available,
    score_share, not_scored, rank_in_level, units_in_level, band_code, rule_version,
    computed_at
)
WITH rule_in_force AS (
    SELECT
        p.period_type,
        p.period_start,
        p.scored_on,
        r.*
    FROM refresh_period AS p
    INNER JOIN mart.scoring_rule AS r
        ON p.scored_on >= r.valid_from AND (r.valid_to IS NULL OR p.scored_on < r.valid_to)
),

rule_total AS (     -- per period: all points, the points that cannot be scored and why
    SELECT
        period_type,
        period_start,
        sum(max_points) AS max_score,
        sum(max_points) FILTER (WHERE rule_kind <> 'not_scored') AS max_available,
        string_agg(item_code || ' (' || max_points || ' điểm): ' || not_scored_reason, '; ' ORDER BY item_code)
        FILTER (WHERE rule_kind = 'not_scored') AS not_scored,
        min(rule_version) AS rule_version
    FROM rule_in_force
    GROUP BY period_type, period_start
),

unit_total AS (
    SELECT
        v.period_type,
        v.period_start,
        v.unit_code,
        v.unit_scheme,
        sum(v.score) FILTER (WHERE r.group_code = 'transparency') AS transparency_score,
        sum(v.score) FILTER (WHERE r.group_code = 'progress') AS progress_score,
        sum(v.score) FILTER (WHERE r.group_code = 'online_service') AS online_service_score,
        sum(v.score) FILTER (WHERE r.group_code = 'online_payment') AS online_payment_score,
        sum(v.score) FILTER (WHERE r.group_code = 'digitization') AS digitization_score,
        sum(v.score) FILTER (WHERE r.group_code = 'satisfaction') AS satisfaction_score,
        coalesce(sum(v.score), 0) AS total_score
    FROM mart.indicator_value AS v
    INNER JOIN rule_in_force AS r
        ON v.period_type = r.period_type AND v.period_start = r.period_start AND v.indicator_code = r.indicator_code
    GROUP BY v.period_type, v.period_start, v.unit_code, v.unit_scheme
),

ranked AS (
    SELECT
        t.*,
        g.unit_type,
        g.parent_code,
        rank() OVER level_peers AS rank_in_level,
        count(*) OVER level_all AS units_in_level
    FROM unit_total AS t
    INNER JOIN unit_grid AS g USING (period_type, period_start, unit_scheme, unit_code)
    WINDOW level_peers AS (
        PARTITION BY t.period_type, t.period_start, t.unit_scheme, g.unit_type, g.parent_code
        ORDER BY t.total_score DESC
    ),
    level_all AS (PARTITION BY t.period_type, t.period_start, t.unit_scheme, g.unit_type, g.parent_code)
)

SELECT
    k.period_type,
    k.period_start,
    k.unit_code,
    k.unit_scheme,
    k.unit_type,
    k.parent_code,
    k.transparency_score,
    k.progress_score,
    k.online_service_score,
    k.online_payment_score,
    k.digitization_score,
    k.satisfaction_score,
    k.total_score,
    rt.max_score,
    rt.max_available,
    round(k.total_score / nullif(rt.max_available, 0), 4),
    rt.not_scored,
    k.rank_in_level,
    k.units_in_level,
    band.band_code,
    rt.rule_version,
    now()
FROM ranked AS k
INNER JOIN rule_total AS rt USING (period_type, period_start)
INNER JOIN refresh_period AS p USING (period_type, period_start)
LEFT JOIN LATERAL (
    SELECT b.band_code
    FROM mart.rating_band AS b
    WHERE b.min_share <= k.total_score / nullif(rt.max_available, 0)
        AND b.valid_from <= p.scored_on AND (b.valid_to IS NULL OR b.valid_to > p.scored_on)
    ORDER BY b.min_share DESC
    LIMIT 1
) AS band ON TRUE;

ANALYZE mart.score_766;

SELECT count(*) FROM mart.score_766 AS s
INNER JOIN refresh_period AS p ON s.period_type = p.period_type AND s.period_start = p.period_start;
