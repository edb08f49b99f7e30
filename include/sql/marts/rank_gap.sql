-- Rewrite mart.rank_gap for the periods of refresh_period: for each unit and scored indicator,
-- the points lost, and how many more dossiers (procedures, communes, PAKN) would lift the unit to
-- the total of the unit(s) ranked just above it in its level (docs/indicators.md, "The road to a
-- better rank").
--
-- Method. An item scores max x n / (d x X) (X = 1 for linear, the threshold for 'full at X'),
-- rounded to two decimals, capped at max. Turning k more of the d dossiers into "good" ones (a
-- late one on time, one more paid online...) moves n to n + k with d unchanged, so
--   alone: the smallest k with max x (n + k) / (d x X) >= score + gap - 0.005 (rounds up to
--          score + gap); NULL when score + gap exceeds the item's maximum;
--   plan:  the cheapest combination of dossier levers: levers sorted by the points one more
--          dossier earns (max / (d x X), highest first) are used up in turn until the gap is
--          closed (greedy = optimal for this fractional knapsack, up to rounding each lever up to
--          a whole dossier). Procedure, commune and PAKN levers are listed alone, not in the plan.
-- Reaching the total of the unit above means sharing its rank (ranks are SQL rank(): ties share).

DELETE FROM mart.rank_gap AS g
USING refresh_period AS p
WHERE g.period_type = p.period_type AND g.period_start = p.period_start;

-- The scorecards of the refreshed periods, and for each level (same type, same parent) and each
-- distinct total the next higher total, its rank and its units: window functions, no self-join.
CREATE TEMP TABLE scored ON COMMIT DROP AS
SELECT
    s.period_type,
    s.period_start,
    s.unit_code,
    s.unit_scheme,
    s.unit_type,
    s.parent_code,
    s.total_score,
    s.rank_in_level,
    s.units_in_level
FROM mart.score_766 AS s
INNER JOIN refresh_period USING (period_type, period_start);
ANALYZE scored;

CREATE TEMP TABLE next_level ON COMMIT DROP AS
WITH distinct_total AS (
    SELECT
        period_type,
        period_start,
        unit_scheme,
        unit_type,
        parent_code,
        total_score,
        min(rank_in_level) AS rank_at,
        string_agg(unit_code, ',' ORDER BY unit_code) AS units
    FROM scored
    GROUP BY period_type, period_start, unit_scheme, unit_type, parent_code, total_score
)

SELECT
    d.*,
    lead(total_score) OVER level_order AS next_total,
    lead(rank_at) OVER level_order AS next_rank,
    lead(units) OVER level_order AS next_units
FROM distinct_total AS d
WINDOW level_order AS (
    PARTITION BY period_type, period_start, unit_scheme, unit_type, parent_code
    ORDER BY total_score
);
ANALYZE next_level;

INSERT INTO mart.rank_gap (
    period_type, period_start, unit_code, unit_scheme, indicator_code, item_code,
    numerator, denominator, score, max_score, points_lost, total_score,
    rank_in_level, units_in_level, next_rank, next_units, gap_points,
    points_per_extra, extra_needed_alone, extra_in_plan, computed_at
)
WITH item AS (
    SELECT
        v.period_type,
        v.period_start,
        v.unit_code,
        v.unit_scheme,
        v.indicator_code,
        r.item_code,
        v.numerator,
        v.denominator,
        v.score,
        v.max_score,
        v.max_score - v.score AS points_lost,
        coalesce(r.threshold, 1) AS threshold,
        s.total_score,
        s.rank_in_level,
        s.units_in_level,
        n.next_rank,
        n.next_units,
        n.next_total - s.total_score AS gap_points,
        CASE WHEN v.denominator > 0 THEN v.max_score / (v.denominator * coalesce(r.threshold, 1)) END
            AS points_per_extra,
        coalesce(lever.is_dossier, FALSE) AS is_dossier
    FROM scored AS s
    INNER JOIN refresh_period AS p USING (period_type, period_start)
    INNER JOIN mart.indicator_value AS v
        ON s.period_type = v.period_type AND s.period_start = v.period_start
            AND s.unit_code = v.unit_code AND s.unit_scheme = v.unit_scheme AND v.score IS NOT NULL
    INNER JOIN mart.scoring_rule AS r
        ON v.indicator_code = r.indicator_code
            AND p.scored_on >= r.valid_from AND (r.valid_to IS NULL OR p.scored_on < r.valid_to)
    LEFT JOIN mart.improvement_lever AS lever ON v.indicator_code = lever.indicator_code
    INNER JOIN next_level AS n
        ON s.period_type = n.period_type AND s.period_start = n.period_start AND s.unit_scheme = n.unit_scheme
            AND s.unit_type = n.unit_type AND n.parent_code IS NOT DISTINCT FROM s.parent_code
            AND s.total_score = n.total_score
),

planned AS (        -- greedy: the points earned by the better levers before this one
    SELECT
        item.*,
        coalesce(sum(points_lost) FILTER (WHERE is_dossier AND points_per_extra IS NOT NULL) OVER (
            PARTITION BY period_type, period_start, unit_code, unit_scheme
            ORDER BY points_per_extra DESC NULLS LAST, indicator_code ASC
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ), 0) AS covered_before
    FROM item
)

SELECT
    period_type,
    period_start,
    unit_code,
    unit_scheme,
    indicator_code,
    item_code,
    numerator,
    denominator,
    score,
    max_score,
    points_lost,
    total_score,
    rank_in_level,
    units_in_level,
    next_rank,
    next_units,
    gap_points,
    points_per_extra,
    CASE WHEN gap_points IS NOT NULL AND points_per_extra IS NOT NULL AND score + gap_points <= max_score
            THEN greatest(
                    0, ceil((score + gap_points - 0.005) * denominator * threshold / max_score - numerator)
                )::integer
    END AS extra_needed_alone,
    CASE WHEN gap_points IS NOT NULL AND is_dossier AND points_per_extra IS NOT NULL
            AND covered_before < gap_points AND points_lost > 0
            THEN greatest(0, ceil(
                    (score + least(points_lost, gap_points - covered_before))
                    * denominator * threshold / max_score - numerator
                ))::integer
    END AS extra_in_plan,
    now()
FROM planned;

SELECT count(*) FROM mart.rank_gap AS g
INNER JOIN refresh_period AS p ON g.period_type = p.period_type AND g.period_start = p.period_start;
