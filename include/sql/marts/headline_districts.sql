-- The demo's headline: per district, the year's on-time rate, the half-year's digitized-result
-- share and online-payment rate (as provincial reports quote them), and the year's Decision 766
-- total with the district's rank among the districts of the province, beside the total the
-- national portal publishes for the year (mart.portal_score_current, NULL when not fetched) and
-- the points synchronizing the district's unsynchronized dossiers would bring (mart.bi_portal_summary).
WITH figures AS (
    SELECT
        value.unit_code,
        max(value.ratio) FILTER (
            WHERE value.indicator_code = 'ON_TIME_FINISHED'
            AND value.period_type = 'year' AND value.period_start = %(year_start)s::date
        ) AS on_time,
        max(value.ratio) FILTER (
            WHERE value.indicator_code = 'RESULT_DIGITIZED'
            AND value.period_type = 'half' AND value.period_start = %(half_start)s::date
        ) AS result_digitized,
        max(value.ratio) FILTER (
            WHERE value.indicator_code = 'ONLINE_PAYMENT'
            AND value.period_type = 'half' AND value.period_start = %(half_start)s::date
        ) AS online_payment
    FROM mart.indicator_value AS value
    WHERE value.unit_scheme = 'as_recorded'
    GROUP BY value.unit_code
)

SELECT
    unit.unit_code,
    unit.unit_name,
    figures.on_time,
    figures.result_digitized,
    figures.online_payment,
    score.total_score,
    score.max_available,
    score.rank_in_level,
    score.units_in_level,
    published.total_score AS portal_total,
    portal_summary.points_from_sync
FROM core.dim_unit AS unit
INNER JOIN figures USING (unit_code)
LEFT JOIN mart.score_766 AS score
    ON unit.unit_code = score.unit_code AND score.unit_scheme = 'as_recorded'
        AND score.period_type = 'year' AND score.period_start = %(year_start)s::date
LEFT JOIN mart.portal_score_current AS published
    ON unit.unit_code = published.unit_code
        AND published.period_type = 'year' AND published.period_start = %(year_start)s::date
LEFT JOIN mart.bi_portal_summary AS portal_summary
    ON unit.unit_code = portal_summary.unit_code AND portal_summary.unit_scheme = 'as_recorded'
        AND portal_summary.period_type = 'year' AND portal_summary.period_start = %(year_start)s::date
WHERE unit.row_valid_to IS NULL AND unit.unit_type = 'HUYEN'
ORDER BY unit.unit_code;
