-- The statutory reporting windows (mart.statutory_window, Decree 09/2019/NĐ-CP) that closed in the
-- month up to %(day)s: window_end in (%(day)s - 1 month, %(day)s]. A run on the day after each
-- cut-off (the 15th with cut-off 14) finds the month that just closed and, when they close with
-- it, the quarter, the half and the year; monthly runs find every window exactly once.
WITH candidate AS (
    SELECT
        kind.period_type,
        month::date AS period_start
    FROM generate_series(
            date_trunc('month', %(day)s::date - interval '13 months'),
            date_trunc('month', %(day)s::date + interval '1 month'),
            interval '1 month'
        ) AS month
    CROSS JOIN (VALUES ('month', 1), ('quarter', 3), ('half', 6), ('year', 12)) AS kind (period_type, months)
    WHERE mod(extract(MONTH FROM month)::int - 1, kind.months) = 0
)

SELECT
    c.period_type,
    c.period_start,
    w.window_start,
    w.window_end
FROM candidate AS c
CROSS JOIN LATERAL mart.statutory_window(c.period_type, c.period_start) AS w
WHERE
    w.window_end <= %(day)s::date
    AND w.window_end > (%(day)s::date - interval '1 month')::date
ORDER BY mart.period_length(c.period_type) ASC, c.period_start ASC;
