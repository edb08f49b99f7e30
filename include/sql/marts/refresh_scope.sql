-- Scope of one refresh of [%(first)s, %(last_exclusive)s): the periods to rewrite (every month
-- overlapping the range, every month in which a dossier or PAKN changed in the range was received
-- or finished, and the quarter, half and year around each) and the months whose leaf
-- aggregates must be recomputed from core (the touched months, plus any month of a rewritten
-- period that was never computed, so a quarter is never built from missing months).
-- Temp tables live until the refresh transaction commits.

-- The caller (tthc.indicators.refresh) holds the refresh lock: one refresh at a time.

-- The roll-ups group a few hundred thousand rows on text keys: in memory (hash aggregates) they
-- take a fraction of the time of an external sort. JIT compilation costs more than it saves on
-- these medium-sized statements. Both only for this transaction.
SET LOCAL work_mem = '256MB';
SET LOCAL jit = off;

CREATE TEMP TABLE touched_month ON COMMIT DROP AS
WITH bound AS (
    SELECT
        %(first)s::date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS from_at,
        %(last_exclusive)s::date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS to_at
),

changed_dossier AS (    -- a dossier changed in the range moves the months it was received and finished in
    SELECT
        d.received_at,
        d.finished_at
    FROM core.fact_dossier AS d, bound
    WHERE d.source_updated_at >= bound.from_at AND d.source_updated_at < bound.to_at
),

changed_feedback AS (
    SELECT f.received_at
    FROM core.fact_feedback AS f, bound
    WHERE f.source_updated_at >= bound.from_at AND f.source_updated_at < bound.to_at
)

SELECT month::date AS month
FROM generate_series(date_trunc('month', %(first)s::date), %(last_exclusive)s::date - 1, interval '1 month') AS month
UNION
SELECT date_trunc('month', moment AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
FROM (
    SELECT received_at FROM changed_dossier
    UNION ALL
    SELECT finished_at FROM changed_dossier
    UNION ALL
    SELECT received_at FROM changed_feedback
) AS changed (moment)
WHERE moment IS NOT NULL;

CREATE TEMP TABLE refresh_period ON COMMIT DROP AS
SELECT DISTINCT
    kind.period_type,
    kind.period_start,
    (kind.period_start + kind.length)::date AS period_end,
    -- the rule in force on the period's last day scores it
    (kind.period_start + kind.length - interval '1 day')::date AS scored_on
FROM touched_month AS t
CROSS JOIN LATERAL (
    VALUES
    ('month', t.month, interval '1 month'),
    ('quarter', date_trunc('quarter', t.month)::date, interval '3 months'),
    ('half', make_date(
        extract(YEAR FROM t.month)::int,
        CASE WHEN extract(MONTH FROM t.month) <= 6 THEN 1 ELSE 7 END, 1
    ), interval '6 months'),
    ('year', date_trunc('year', t.month)::date, interval '1 year')
) AS kind (period_type, period_start, length);

-- The reporting windows of form 06/VPCP/KSTT: the calendar periods above, and the statutory windows
-- (mart.statutory_window) that overlap a touched month. A statutory window starts at most a month
-- before its nominal period, so the candidates are the periods around the month and the next one.
CREATE TEMP TABLE refresh_window ON COMMIT DROP AS
SELECT
    'calendar'::text AS period_kind,
    period_type,
    period_start,
    period_start AS window_start,
    period_end AS window_end
FROM refresh_period
UNION
SELECT
    'statutory',
    candidate.period_type,
    candidate.period_start,
    w.window_start,
    w.window_end
FROM touched_month AS t
CROSS JOIN
    LATERAL (
        SELECT
            kind.period_type,
            CASE kind.period_type
                WHEN 'month' THEN date_trunc('month', around.month)
                WHEN 'quarter' THEN date_trunc('quarter', around.month)
                WHEN 'half'
                    THEN make_date(
                            extract(YEAR FROM around.month)::int,
                            CASE WHEN extract(MONTH FROM around.month) <= 6 THEN 1 ELSE 7 END, 1
                        )
                ELSE date_trunc('year', around.month)
            END::date AS period_start
        FROM (VALUES (t.month), ((t.month + interval '1 month')::date)) AS around (month)
        CROSS JOIN (VALUES ('month'), ('quarter'), ('half'), ('year')) AS kind (period_type)
    ) AS candidate
CROSS JOIN LATERAL mart.statutory_window(candidate.period_type, candidate.period_start) AS w
WHERE w.window_start < t.month + interval '1 month' AND w.window_end > t.month;

-- Months to aggregate again from core: the touched ones, and any month of a rewritten period or
-- window that was never aggregated (a statutory window reaches into the month before its period).
CREATE TEMP TABLE refresh_month ON COMMIT DROP AS
SELECT DISTINCT month::date AS month
FROM refresh_window AS w
CROSS JOIN
    LATERAL generate_series(
        date_trunc('month', w.window_start), w.window_end - 1, interval '1 month'
    ) AS month
WHERE (w.period_kind = 'calendar' AND w.period_type = 'month')
    OR NOT EXISTS (
        SELECT 1 FROM mart.agg_month_log AS log
        WHERE log.month = month::date
    );

-- The attribution of every unit to today's tree, read once per refresh.
CREATE TEMP TABLE unit_map ON COMMIT DROP AS
SELECT
    unit_code,
    current_unit_code
FROM mart.unit_attribution;

ANALYZE refresh_period;
ANALYZE refresh_window;
ANALYZE refresh_month;
ANALYZE unit_map;
-- small configuration tables: without statistics the planner guesses a handful of rows and picks
-- nested loops over the (large) mart tables in later steps and in invariants.sql
ANALYZE mart.indicator, mart.indicator_method, mart.scoring_rule, mart.improvement_lever, mart.e_cert_procedure;

SELECT
    (SELECT count(*) FROM refresh_period),
    (SELECT count(*) FROM refresh_month);
