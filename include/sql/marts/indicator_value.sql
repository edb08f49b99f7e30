-- Rewrite mart.indicator_value for the periods of refresh_period (refresh_scope.sql), every
-- indicator of docs/indicators.md, every unit, both unit schemes:
--   as_recorded  dossiers on their competent unit as it was; units valid during the period;
--   current      history re-expressed on today's units through mart.unit_attribution (each old
--                unit goes to exactly one unit of today, so nothing is counted twice).
-- Roll-ups sum numerators and denominators over core.unit_closure, never average ratios.
-- Additive indicators come from the monthly leaf aggregates; ON_TIME_766 adds the dossiers open at
-- the period's end, the distinct-procedure and per-commune items and PAKN are computed per period.
-- Runs in the caller's transaction: readers see the old rows or the new ones, never half.

CREATE TEMP TABLE period_end ON COMMIT DROP AS
SELECT DISTINCT
    period_end,
    period_end::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS end_at
FROM refresh_period;

-- ON_TIME_766, second part: dossiers of D with a promised date open at the period's end
-- ("received before the end, not finished before the end": the interval (received, end] contains
-- the end), and those of them still on track (promised date not passed at the end, at most one
-- supplement request). Found by btrees (schema/V004__core.sql): the long-open through their
-- own index; the short-lived, received in the window before the end and finished in the window
-- after it, through the reception and finish indexes together.
CREATE TEMP TABLE open_at_end ON COMMIT DROP AS
WITH open_dossier AS (
    SELECT
        e.period_end,
        e.end_at,
        d.competent_unit_code,
        d.due_at,
        d.supplement_count
    FROM period_end AS e
    -- One index lookup per period end: as a plain join, the planner scanned every fact once for
    -- all the ends, several times slower (docs/performance.md).
    CROSS JOIN
        LATERAL (
            SELECT
                d.competent_unit_code,
                d.due_at,
                d.supplement_count
            FROM core.fact_dossier AS d
            WHERE d.received_at >= e.end_at - core.open_dossier_window() AND d.received_at < e.end_at
                AND d.finished_at >= e.end_at AND d.finished_at < e.end_at + core.open_dossier_window()
                AND d.due_at IS NOT NULL AND d.status NOT IN (1, 3)
                AND NOT core.dossier_open_long(d.status, d.received_at, d.finished_at)
            -- keeps the subquery a lookup per end instead of being merged into a join
            OFFSET 0  -- noqa: AM09
        ) AS d
    UNION ALL
    SELECT
        e.period_end,
        e.end_at,
        d.competent_unit_code,
        d.due_at,
        d.supplement_count
    FROM period_end AS e
    INNER JOIN core.fact_dossier AS d
        ON e.end_at > d.received_at
            AND (d.status NOT IN (7, 8, 9, 10) OR greatest(d.finished_at, d.received_at) >= e.end_at)
    WHERE d.due_at IS NOT NULL AND d.received_at IS NOT NULL AND d.status NOT IN (1, 3)
        AND core.dossier_open_long(d.status, d.received_at, d.finished_at)
)

SELECT
    period_end,
    competent_unit_code AS unit_code,
    count(*) AS open_with_due,
    count(*) FILTER (WHERE due_at >= end_at AND supplement_count <= 1) AS open_on_track
FROM open_dossier
WHERE competent_unit_code IS NOT NULL
GROUP BY period_end, competent_unit_code;
ANALYZE open_at_end;

-- Every unit of each scheme and period: as recorded, the units valid at some time in the period;
-- current, today's units. Type and parent come from the current version of the unit.
CREATE TEMP TABLE unit_grid ON COMMIT DROP AS
SELECT
    p.period_type,
    p.period_start,
    'as_recorded'::text AS unit_scheme,
    u.unit_code,
    u.unit_type,
    u.parent_code
FROM refresh_period AS p
INNER JOIN core.dim_unit AS u
    ON u.row_valid_to IS NULL AND mart.unit_valid_during(u.valid_from, u.valid_to, p.period_start, p.period_end)
UNION ALL
SELECT
    p.period_type,
    p.period_start,
    'current',
    u.unit_code,
    u.unit_type,
    u.parent_code
FROM refresh_period AS p
INNER JOIN core.dim_unit AS u
    ON u.row_valid_to IS NULL AND (u.valid_to IS NULL OR u.valid_to >= current_date);
ANALYZE unit_grid;

-- Values per period and leaf unit (as recorded), before the schemes and the roll-up.
CREATE TEMP TABLE leaf_value ON COMMIT DROP AS
-- additive indicators and the finished part of ON_TIME_766: sums of the period's months
SELECT
    p.period_type,
    p.period_start,
    a.unit_code,
    a.indicator_code,
    sum(a.numerator) AS numerator,
    sum(a.denominator) AS denominator
FROM refresh_period AS p
INNER JOIN mart.agg_unit_month AS a ON p.period_start <= a.month AND p.period_end > a.month
WHERE a.indicator_code <> 'E_CERT_COPY'
GROUP BY p.period_type, p.period_start, a.unit_code, a.indicator_code
UNION ALL
-- the open part of ON_TIME_766, judged at the period's end
SELECT
    p.period_type,
    p.period_start,
    o.unit_code,
    'ON_TIME_766',
    o.open_on_track,
    o.open_with_due
FROM refresh_period AS p
INNER JOIN open_at_end AS o USING (period_end);
ANALYZE leaf_value;

-- Each leaf unit under each scheme: itself, or the unit of today that carries its history.
CREATE TEMP TABLE scheme_unit ON COMMIT DROP AS
SELECT
    'as_recorded'::text AS unit_scheme,
    unit_code,
    unit_code AS scheme_unit_code
FROM unit_map
UNION ALL
SELECT
    'current',
    unit_code,
    current_unit_code
FROM unit_map
WHERE current_unit_code IS NOT NULL;
ANALYZE scheme_unit;

CREATE TEMP TABLE rolled_value ON COMMIT DROP AS
-- additive indicators and ON_TIME_766: sums over every descendant
SELECT
    v.period_type,
    v.period_start,
    s.unit_scheme,
    c.ancestor_code AS unit_code,
    v.indicator_code,
    sum(v.numerator) AS numerator,
    sum(v.denominator) AS denominator
FROM leaf_value AS v
INNER JOIN scheme_unit AS s ON v.unit_code = s.unit_code
INNER JOIN core.unit_closure AS c ON s.scheme_unit_code = c.descendant_code
GROUP BY v.period_type, v.period_start, s.unit_scheme, c.ancestor_code, v.indicator_code;

-- 3.5: distinct procedures over the whole period and every unit below (never summed).
INSERT INTO rolled_value
WITH procedure_at_unit AS (     -- first over the months, per unit: 12x fewer rows to roll up
    SELECT
        p.period_type,
        p.period_start,
        s.unit_scheme,
        s.scheme_unit_code,
        a.procedure_code,
        bool_or(a.fee_procedure) AS fee_procedure,
        bool_or(a.with_fee_line) AS with_fee_line,
        bool_or(a.paid_online) AS paid_online
    FROM refresh_period AS p
    INNER JOIN mart.agg_unit_month_procedure AS a ON p.period_start <= a.month AND p.period_end > a.month
    INNER JOIN scheme_unit AS s ON a.unit_code = s.unit_code
    GROUP BY p.period_type, p.period_start, s.unit_scheme, s.scheme_unit_code, a.procedure_code
),

procedure_in_period AS (        -- then over the units below each unit
    SELECT
        u.period_type,
        u.period_start,
        u.unit_scheme,
        c.ancestor_code AS unit_code,
        u.procedure_code,
        bool_or(u.fee_procedure) AS fee_procedure,
        bool_or(u.with_fee_line) AS with_fee_line,
        bool_or(u.paid_online) AS paid_online
    FROM procedure_at_unit AS u
    INNER JOIN core.unit_closure AS c ON u.scheme_unit_code = c.descendant_code
    GROUP BY u.period_type, u.period_start, u.unit_scheme, c.ancestor_code, u.procedure_code
)

SELECT
    period_type,
    period_start,
    unit_scheme,
    unit_code,
    m.indicator_code,
    m.numerator,
    m.denominator
FROM (
    SELECT
        period_type,
        period_start,
        unit_scheme,
        unit_code,
        count(*) FILTER (WHERE fee_procedure AND with_fee_line) AS fee_data,
        count(*) FILTER (WHERE fee_procedure) AS fee_procedures,
        count(*) FILTER (WHERE paid_online) AS paid_online,
        count(*) FILTER (WHERE with_fee_line) AS with_fee_line
    FROM procedure_in_period
    GROUP BY period_type, period_start, unit_scheme, unit_code
) AS counted
CROSS JOIN LATERAL (
    VALUES
    ('TTHC_WITH_FEE_DATA', counted.fee_data::numeric, counted.fee_procedures::numeric),
    ('TTHC_PAID_ONLINE', counted.paid_online::numeric, counted.with_fee_line::numeric)
) AS m (indicator_code, numerator, denominator);

-- 4.6: communes under the unit (those of the grid: valid in the period as recorded, today's in
-- the current scheme) that finished an e-certified-copy dossier in the period.
INSERT INTO rolled_value
WITH offering AS (
    SELECT DISTINCT
        p.period_type,
        p.period_start,
        s.unit_scheme,
        s.scheme_unit_code AS unit_code
    FROM refresh_period AS p
    INNER JOIN mart.agg_unit_month AS a
        ON p.period_start <= a.month AND p.period_end > a.month
            AND a.indicator_code = 'E_CERT_COPY' AND a.numerator > 0
    INNER JOIN scheme_unit AS s ON a.unit_code = s.unit_code
)

SELECT
    g.period_type,
    g.period_start,
    g.unit_scheme,
    c.ancestor_code,
    'E_CERT_COPY',
    count(o.unit_code),
    count(*)
FROM unit_grid AS g
INNER JOIN core.unit_closure AS c ON g.unit_code = c.descendant_code
LEFT JOIN offering AS o USING (period_type, period_start, unit_scheme, unit_code)
WHERE g.unit_type = 'XA'
GROUP BY g.period_type, g.period_start, g.unit_scheme, c.ancestor_code;

-- 5.2 and 5.3: PAKN received in the period; "handled in time" = handled by HanXuLy; "open in
-- time" = not handled by the period's end and HanXuLy not passed at the end.
INSERT INTO rolled_value
WITH pakn AS (
    SELECT
        p.period_type,
        p.period_start,
        f.unit_code,
        (f.handled_at IS NOT NULL AND f.handled_at <= f.deadline_at)
        OR ((f.handled_at IS NULL OR f.handled_at >= e.end_at) AND f.deadline_at >= e.end_at) AS in_time,
        f.satisfied
    FROM refresh_period AS p
    INNER JOIN period_end AS e USING (period_end)
    INNER JOIN core.fact_feedback AS f
        ON f.received_at >= p.period_start::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
            AND e.end_at > f.received_at
    WHERE f.unit_code IS NOT NULL
)

SELECT
    pakn.period_type,
    pakn.period_start,
    s.unit_scheme,
    c.ancestor_code,
    m.indicator_code,
    sum(m.numerator),
    count(*)
FROM pakn
INNER JOIN scheme_unit AS s ON pakn.unit_code = s.unit_code
INNER JOIN core.unit_closure AS c ON s.scheme_unit_code = c.descendant_code
CROSS JOIN
    LATERAL (
        VALUES
        ('PAKN_ON_TIME', CASE WHEN pakn.in_time IS TRUE THEN 1 ELSE 0 END),
        ('PAKN_SATISFACTION', CASE WHEN pakn.in_time IS TRUE AND pakn.satisfied IS DISTINCT FROM 0 THEN 1 ELSE 0 END)
    ) AS m (indicator_code, numerator)
GROUP BY pakn.period_type, pakn.period_start, s.unit_scheme, c.ancestor_code, m.indicator_code;

ANALYZE rolled_value;

-- As recorded, a unit dissolved before the period still gets a row when its dossiers count in the
-- period (received before 2025-07-01 by an old commune, finished in July): its parent's total
-- includes them, so the unit must show them too.
INSERT INTO unit_grid (period_type, period_start, unit_scheme, unit_code, unit_type, parent_code)
SELECT DISTINCT
    v.period_type,
    v.period_start,
    v.unit_scheme,
    v.unit_code,
    u.unit_type,
    u.parent_code
FROM rolled_value AS v
INNER JOIN core.dim_unit AS u ON v.unit_code = u.unit_code AND u.row_valid_to IS NULL
WHERE v.unit_scheme = 'as_recorded'
    AND (v.numerator <> 0 OR v.denominator <> 0)
    AND NOT EXISTS (
        SELECT 1 FROM unit_grid AS g
        WHERE g.period_type = v.period_type AND g.period_start = v.period_start
            AND g.unit_scheme = v.unit_scheme AND g.unit_code = v.unit_code
    );

DELETE FROM mart.indicator_value AS v
USING refresh_period AS p
WHERE v.period_type = p.period_type AND v.period_start = p.period_start;

-- Every grid unit gets every indicator: a unit without dossiers reads 0 (ratio NULL), not nothing.
INSERT INTO mart.indicator_value (
    period_type, period_start, unit_code, unit_scheme, indicator_code,
    numerator, denominator, ratio, score, max_score, rule_version, computed_at
)
SELECT
    g.period_type,
    g.period_start,
    g.unit_code,
    g.unit_scheme,
    i.indicator_code,
    coalesce(v.numerator, 0),
    CASE WHEN i.kind = 'count' THEN NULL ELSE coalesce(v.denominator, 0) END,
    CASE WHEN i.kind <> 'count' THEN v.numerator / nullif(v.denominator, 0) END,
    mart.apply_scoring_rule(
        r.rule_kind, r.max_points, r.threshold, r.full_when_empty,
        coalesce(v.numerator, 0), coalesce(v.denominator, 0)
    ),
    r.max_points,
    r.rule_version,
    now()
FROM unit_grid AS g
INNER JOIN refresh_period AS p USING (period_type, period_start)
CROSS JOIN mart.indicator AS i
LEFT JOIN rolled_value AS v
    ON g.period_type = v.period_type AND g.period_start = v.period_start
        AND g.unit_scheme = v.unit_scheme AND g.unit_code = v.unit_code AND i.indicator_code = v.indicator_code
LEFT JOIN mart.scoring_rule AS r
    ON i.indicator_code = r.indicator_code
        AND p.scored_on >= r.valid_from AND (r.valid_to IS NULL OR p.scored_on < r.valid_to);

-- fresh statistics for the scorecard and rank-gap steps that read these rows next
ANALYZE mart.indicator_value;

SELECT count(*) FROM mart.indicator_value AS v
INNER JOIN refresh_period AS p ON v.period_type = p.period_type AND v.period_start = p.period_start;
