-- Mart invariants: every row returned is a violation (none after a correct refresh). Columns:
-- check_name, period_type, period_start, unit_code, unit_scheme, indicator_code, detail.
-- The mart suite alerts on them. (No percent signs: the file is sent with client-side binding.)
WITH additive AS (          -- indicators whose numerators and denominators add up the unit tree
    SELECT v.*
    FROM mart.indicator_value AS v
    INNER JOIN mart.indicator_method AS m USING (indicator_code)
    WHERE m.rollup = 'sum'
),

period AS (
    SELECT DISTINCT
        period_type,
        period_start,
        (period_start + CASE period_type WHEN 'month' THEN interval '1 month'
            WHEN 'quarter' THEN interval '3 months'
            WHEN 'half' THEN interval '6 months'
            ELSE interval '1 year'
        END)::date AS period_end
    FROM mart.indicator_value
),

scheme_unit AS MATERIALIZED (
    SELECT
        'as_recorded'::text AS unit_scheme,
        unit_code,
        unit_code AS scheme_unit_code
    FROM mart.unit_attribution
    UNION ALL
    SELECT
        'current',
        unit_code,
        current_unit_code
    FROM mart.unit_attribution
),

own AS (                    -- a unit's own dossiers (or those attributed to it), from the leaf months
    SELECT
        p.period_type,
        p.period_start,
        s.unit_scheme,
        s.scheme_unit_code AS unit_code,
        a.indicator_code,
        sum(a.numerator) AS numerator,
        sum(a.denominator) AS denominator
    FROM period AS p
    INNER JOIN mart.agg_unit_month AS a ON p.period_start <= a.month AND p.period_end > a.month
    INNER JOIN scheme_unit AS s ON a.unit_code = s.unit_code
    GROUP BY 1, 2, 3, 4, 5
),

children AS (
    SELECT
        v.period_type,
        v.period_start,
        v.unit_scheme,
        u.parent_code AS unit_code,
        v.indicator_code,
        sum(v.numerator) AS numerator,
        sum(v.denominator) AS denominator
    FROM additive AS v
    -- along the tree the closure is built from (provinces under the nation, when there is one)
    INNER JOIN core.unit_tree AS u ON v.unit_code = u.unit_code
    WHERE u.parent_code IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5
),

fields AS (
    SELECT
        period_kind,
        period_type,
        period_start,
        unit_code,
        unit_scheme,
        sum(received_total) AS received_total,
        sum(finished_total) AS finished_total,
        sum(in_progress_total) AS in_progress_total
    FROM mart.form_06
    WHERE field_code IS NOT NULL
    GROUP BY period_kind, period_type, period_start, unit_code, unit_scheme
)

SELECT
    'ratio_outside_0_1' AS check_name,
    v.period_type,
    v.period_start,
    v.unit_code,
    v.unit_scheme,
    v.indicator_code,
    concat('ratio ', v.ratio, ' = ', v.numerator, ' / ', v.denominator) AS detail
FROM mart.indicator_value AS v
INNER JOIN mart.indicator AS i USING (indicator_code)
WHERE i.kind = 'ratio' AND (v.ratio < 0 OR v.ratio > 1 OR v.numerator > v.denominator)
UNION ALL
SELECT
    'negative_value',
    period_type,
    period_start,
    unit_code,
    unit_scheme,
    indicator_code,
    concat('numerator ', numerator, ', denominator ', denominator)
FROM mart.indicator_value
WHERE numerator < 0 OR denominator < 0
UNION ALL
-- an item's score lies within its points
SELECT
    'score_outside_0_max',
    period_type,
    period_start,
    unit_code,
    unit_scheme,
    indicator_code,
    concat('score ', score, ' of ', max_score)
FROM mart.indicator_value
WHERE score < 0 OR score > max_score OR (score IS NOT NULL AND max_score IS NULL)
UNION ALL
SELECT
    'total_outside_0_available',
    period_type,
    period_start,
    unit_code,
    unit_scheme,
    NULL,
    concat('total ', total_score, ' of ', max_available, ' available, rank ', rank_in_level, '/', units_in_level)
FROM mart.score_766
WHERE total_score < 0 OR total_score > max_available OR rank_in_level > units_in_level
UNION ALL
-- a parent's numerator (denominator) = its own dossiers' + the sum of its children's
SELECT
    'rollup_not_additive',
    v.period_type,
    v.period_start,
    v.unit_code,
    v.unit_scheme,
    v.indicator_code,
    concat(
        'numerator ', v.numerator, ' <> own ', coalesce(o.numerator, 0), ' + children ', coalesce(c.numerator, 0),
        '; denominator ', v.denominator, ' <> own ', coalesce(o.denominator, 0), ' + children ',
        coalesce(c.denominator, 0)
    )
FROM additive AS v
LEFT JOIN own AS o USING (period_type, period_start, unit_scheme, unit_code, indicator_code)
LEFT JOIN children AS c USING (period_type, period_start, unit_scheme, unit_code, indicator_code)
WHERE v.numerator <> coalesce(o.numerator, 0) + coalesce(c.numerator, 0)
    OR (v.denominator IS NOT NULL AND v.denominator <> coalesce(o.denominator, 0) + coalesce(c.denominator, 0))
UNION ALL
-- re-expressing history on today's units neither loses nor doubles a dossier: the roots agree
SELECT
    'schemes_disagree_at_root',
    recorded.period_type,
    recorded.period_start,
    recorded.unit_code,
    'current',
    recorded.indicator_code,
    concat(
        'as_recorded ', recorded.numerator, ' / ', recorded.denominator,
        ', current ', current_value.numerator, ' / ', current_value.denominator
    )
FROM additive AS recorded
-- the roots of the tree (the nation when there is one, else the province)
INNER JOIN
    core.unit_tree AS root
    ON recorded.unit_code = root.unit_code AND root.parent_code IS NULL
INNER JOIN additive AS current_value
    ON recorded.period_type = current_value.period_type AND recorded.period_start = current_value.period_start
        AND recorded.unit_code = current_value.unit_code AND recorded.indicator_code = current_value.indicator_code
        AND current_value.unit_scheme = 'current'
WHERE recorded.unit_scheme = 'as_recorded'
    AND (recorded.numerator, recorded.denominator) IS DISTINCT FROM (current_value.numerator, current_value.denominator)
UNION ALL
-- form 06: what was to be handled in a window was either finished in it or is still in progress
SELECT
    'form_06_not_balanced',
    period_type,
    period_start,
    unit_code,
    unit_scheme,
    NULL,
    concat(
        period_kind, ' ', coalesce(field_code, 'total'), ': received ', received_total, ' <> finished ',
        finished_total, ' + in progress ', in_progress_total
    )
FROM mart.form_06
WHERE received_total <> finished_total + in_progress_total
UNION ALL
-- form 06: a unit's total row is the sum of its field rows
SELECT
    'form_06_fields_not_total',
    total.period_type,
    total.period_start,
    total.unit_code,
    total.unit_scheme,
    NULL,
    concat(
        total.period_kind, ': total received ', total.received_total, ', finished ', total.finished_total,
        ', in progress ', total.in_progress_total, '; fields ', fields.received_total, ', ',
        fields.finished_total, ', ', fields.in_progress_total
    )
FROM mart.form_06 AS total
INNER JOIN fields USING (period_kind, period_type, period_start, unit_code, unit_scheme)
WHERE total.field_code IS NULL
    AND (total.received_total, total.finished_total, total.in_progress_total)
    <> (fields.received_total, fields.finished_total, fields.in_progress_total)
ORDER BY 1, 2, 3, 4, 5, 6;
