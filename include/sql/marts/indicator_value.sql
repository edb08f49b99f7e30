-- Refresh mart.indicator_value for every period (month, quarter, half, year) starting in
-- [%(period_from)s, %(period_to)s) — whole years, so every quarter/half/year is complete — for
-- every unit and its roll-up (sum of numerators and denominators, never an average of ratios).
-- Runs in the caller's transaction: readers see the old rows or the new ones, never half.

CREATE TEMP TABLE refreshed_indicator ON COMMIT DROP AS
WITH bounds AS (
    SELECT %(period_from)s::date AS period_from, %(period_to)s::date AS period_to
),
received_dossier AS (   -- D: not deleted (deleted dossiers are not in the facts), actually received
    SELECT d.competent_unit_code AS unit_code,
           d.received_at AT TIME ZONE 'Asia/Ho_Chi_Minh' AS received_local,
           d.finished_at AT TIME ZONE 'Asia/Ho_Chi_Minh' AS finished_local,
           d.status, d.timeliness, d.online_payment, d.has_positive_fee, d.has_electronic_result
    FROM core.fact_dossier AS d, bounds
    WHERE d.received_at IS NOT NULL
      AND d.status NOT IN (1, 3)
      AND (d.received_at >= bounds.period_from::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
           OR d.finished_at >= bounds.period_from::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh')
      AND d.received_at < bounds.period_to::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
),
received_monthly AS (
    SELECT unit_code,
           date_trunc('month', received_local)::date                              AS month,
           count(*)                                                               AS received,
           count(*) FILTER (WHERE has_positive_fee)                               AS received_with_fee,
           count(*) FILTER (WHERE has_positive_fee AND online_payment IN (1, 2))  AS paid_online
    FROM received_dossier, bounds
    WHERE received_local >= bounds.period_from AND received_local < bounds.period_to
    GROUP BY 1, 2
),
finished_monthly AS (
    SELECT unit_code,
           date_trunc('month', finished_local)::date                                AS month,
           count(*)                                                                 AS finished,
           count(*) FILTER (WHERE timeliness IS NOT NULL)                           AS finished_with_due,
           count(*) FILTER (WHERE timeliness IN ('early', 'on_time'))               AS on_time,
           count(*) FILTER (WHERE status IN (9, 10))                                AS completed,
           count(*) FILTER (WHERE status IN (9, 10) AND has_electronic_result)      AS completed_digitized
    FROM received_dossier, bounds
    WHERE status IN (7, 8, 9, 10)
      AND finished_local >= bounds.period_from AND finished_local < bounds.period_to
    GROUP BY 1, 2
),
monthly AS (
    SELECT coalesce(r.unit_code, f.unit_code) AS unit_code,
           coalesce(r.month, f.month)         AS month,
           coalesce(r.received, 0)            AS received,
           coalesce(r.received_with_fee, 0)   AS received_with_fee,
           coalesce(r.paid_online, 0)         AS paid_online,
           coalesce(f.finished, 0)            AS finished,
           coalesce(f.finished_with_due, 0)   AS finished_with_due,
           coalesce(f.on_time, 0)             AS on_time,
           coalesce(f.completed, 0)           AS completed,
           coalesce(f.completed_digitized, 0) AS completed_digitized
    FROM received_monthly AS r
    FULL JOIN finished_monthly AS f ON f.unit_code = r.unit_code AND f.month = r.month
),
by_period AS (
    SELECT period.period_type, period.period_start, monthly.*
    FROM monthly
    CROSS JOIN LATERAL (VALUES
        ('month',   monthly.month),
        ('quarter', date_trunc('quarter', monthly.month)::date),
        ('half',    make_date(extract(year FROM monthly.month)::int,
                              CASE WHEN extract(month FROM monthly.month) <= 6 THEN 1 ELSE 7 END, 1)),
        ('year',    date_trunc('year', monthly.month)::date)
    ) AS period (period_type, period_start)
),
rolled_up AS (
    SELECT p.period_type, p.period_start, closure.ancestor_code AS unit_code,
           sum(p.received) AS received, sum(p.received_with_fee) AS received_with_fee,
           sum(p.paid_online) AS paid_online, sum(p.finished) AS finished,
           sum(p.finished_with_due) AS finished_with_due, sum(p.on_time) AS on_time,
           sum(p.completed) AS completed, sum(p.completed_digitized) AS completed_digitized
    FROM by_period AS p
    JOIN core.unit_closure AS closure ON closure.descendant_code = p.unit_code
    GROUP BY 1, 2, 3
),
period_grid AS (    -- every period of the range, so a unit with no dossier reads 0, not nothing
    SELECT kind.period_type, start::date AS period_start,
           (start + kind.length)::date AS period_end
    FROM bounds
    CROSS JOIN (VALUES ('month', interval '1 month'), ('quarter', interval '3 months'),
                       ('half', interval '6 months'), ('year', interval '1 year')) AS kind (period_type, length)
    CROSS JOIN LATERAL generate_series(bounds.period_from, bounds.period_to - kind.length, kind.length) AS start
),
unit_grid AS (      -- units as recorded: those valid at some point of the period
    SELECT grid.period_type, grid.period_start, unit.unit_code
    FROM period_grid AS grid
    JOIN core.dim_unit AS unit
      ON unit.row_valid_to IS NULL
     AND coalesce(unit.valid_from, date '-infinity') < grid.period_end
     AND coalesce(unit.valid_to, date 'infinity') >= grid.period_start
)
SELECT grid.period_type, grid.period_start, grid.unit_code, 'as_recorded'::text AS unit_scheme,
       measure.indicator_code, measure.numerator, measure.denominator
FROM unit_grid AS grid
LEFT JOIN rolled_up AS value USING (period_type, period_start, unit_code)
CROSS JOIN LATERAL (VALUES
    ('RECEIVED',         coalesce(value.received, 0),            NULL::numeric),
    ('FINISHED',         coalesce(value.finished, 0),            NULL),
    ('ON_TIME_FINISHED', coalesce(value.on_time, 0),             coalesce(value.finished_with_due, 0)),
    ('RESULT_DIGITIZED', coalesce(value.completed_digitized, 0), coalesce(value.completed, 0)),
    ('ONLINE_PAYMENT',   coalesce(value.paid_online, 0),         coalesce(value.received_with_fee, 0))
) AS measure (indicator_code, numerator, denominator);

DELETE FROM mart.indicator_value
WHERE unit_scheme = 'as_recorded'
  AND period_start >= %(period_from)s::date AND period_start < %(period_to)s::date
  AND indicator_code IN (SELECT DISTINCT indicator_code FROM refreshed_indicator);

INSERT INTO mart.indicator_value (period_type, period_start, unit_code, unit_scheme, indicator_code,
                                  numerator, denominator, ratio)
SELECT period_type, period_start, unit_code, unit_scheme, indicator_code, numerator, denominator,
       numerator / nullif(denominator, 0)
FROM refreshed_indicator;

SELECT count(*) FROM refreshed_indicator;
