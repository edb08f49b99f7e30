-- Recompute mart.portal_gap (schema/V010__portal_gap.sql, docs/portal.md "The gap") for the
-- periods given (%(period_types)s, %(period_starts)s: parallel arrays) that have portal rows: per
-- unit the portal published, scheme and mapped item, the province's own figure
-- (mart.indicator_value), the same indicator over the synchronized dossiers only
-- (synced_to_portal, DongBoDVCQG = 1) and the portal's (mart.portal_metric_current).
--
-- The one path to the table: tthc.portal.store_period runs it in the fetch's transaction, and
-- tthc.indicators.refresh as its last step for the periods it rewrote. Periods without portal
-- rows (the indicator bench, halves) cost nothing: every scan below is driven by gap_period.
--
-- Why the synced-only figures are written here and not by running leaf_month.sql and
-- indicator_value.sql over a subset: those steps read the stored monthly leaves
-- (mart.agg_unit_month) and write mart.indicator_value in place, with no seam to point them at
-- other dossiers or other targets; splitting them would change the refresh's benchmarked path
-- (docs/performance.md). So the dossier items the portal scores are written once more below,
-- each once, by the definitions of docs/indicators.md (the same predicates as leaf_month.sql's
-- received_count / finished_count and indicator_value.sql's open_at_end, 3.5 and 4.6), over whole
-- periods instead of months. tests/tthc/test_portal_gap.py checks them against the portal of the
-- simulator (an independent implementation) for every unit and period fetched. The PAKN items
-- (5.2, 5.3) do not depend on synchronization: their synced-only figure is the own figure.
--
-- A row the recomputation finds identical is left as it is (same xmin, same computed_at).

CREATE TEMP TABLE gap_period ON COMMIT DROP AS
SELECT DISTINCT
    asked.period_type,
    asked.period_start,
    bound.period_end,
    bound.period_start::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS from_at,
    bound.period_end::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS to_at,
    -- the rule in force on the period's last day scores it (as in refresh_scope.sql)
    (bound.period_end - 1) AS scored_on
FROM unnest(%(period_types)s::text[], %(period_starts)s::date[]) AS asked (period_type, period_start)
CROSS JOIN LATERAL (
    SELECT
        asked.period_start,
        (asked.period_start + CASE asked.period_type
            WHEN 'year' THEN interval '1 year'
            WHEN 'quarter' THEN interval '3 months'
            WHEN 'month' THEN interval '1 month'
        END)::date AS period_end
) AS bound
WHERE asked.period_type IN ('year', 'quarter', 'month')
    AND (
        EXISTS (
            SELECT 1 FROM mart.portal_score_current AS s
            WHERE s.period_type = asked.period_type AND s.period_start = asked.period_start
        )
        OR EXISTS (
            SELECT 1 FROM mart.portal_metric_current AS m
            WHERE m.period_type = asked.period_type AND m.period_start = asked.period_start
        )
    );

-- Procedure attributes from the current catalogue version (as leaf_month.sql's procedure_flag).
CREATE TEMP TABLE gap_procedure ON COMMIT DROP AS
SELECT
    p.source_id,
    p.procedure_code,
    p.has_fee,
    p.has_paper_result,
    p.online_level = 'TOAN_TRINH' AS full_online,
    EXISTS(
        SELECT 1 FROM mart.e_cert_procedure AS e
        WHERE e.procedure_code = p.procedure_code
    ) AS e_cert
FROM core.dim_procedure AS p
WHERE p.row_valid_to IS NULL
    AND EXISTS (SELECT 1 FROM gap_period);

-- D received in the period: the synchronized ones with what the items read, and the count of
-- those not synchronized.
CREATE TEMP TABLE gap_received ON COMMIT DROP AS
SELECT
    p.period_type,
    p.period_start,
    d.competent_unit_code AS unit_code,
    d.procedure_code,
    d.synced_to_portal,
    d.channel,
    d.online_payment,
    d.has_positive_fee,
    d.has_electronic_result,
    d.has_digitized_component,
    d.has_reused_component,
    d.has_citizen_store_component,
    d.vneid_verified,
    coalesce(f.has_fee, FALSE) AS fee_procedure,
    coalesce(f.has_paper_result, FALSE) AS paper_procedure,
    coalesce(f.full_online, FALSE) AS full_online_procedure
FROM gap_period AS p
INNER JOIN core.fact_dossier AS d ON p.from_at <= d.received_at AND p.to_at > d.received_at
LEFT JOIN gap_procedure AS f ON d.source_id = f.source_id AND d.procedure_code = f.procedure_code
WHERE d.status NOT IN (1, 3)
    AND d.competent_unit_code IS NOT NULL;

-- D finished in the period (status 7-10 with an end), synchronized only.
CREATE TEMP TABLE gap_finished ON COMMIT DROP AS
SELECT
    p.period_type,
    p.period_start,
    d.competent_unit_code AS unit_code,
    d.timeliness,
    coalesce(f.e_cert, FALSE) AS e_cert_procedure,
    -- 5.4: not late, not rated "not satisfied", not the subject of any PAKN
    (
        d.timeliness IS DISTINCT FROM 'late' AND d.rating IS DISTINCT FROM 0
        AND NOT EXISTS (
            SELECT 1 FROM core.fact_feedback AS fb
            WHERE fb.source_id = d.source_id AND fb.ma_ho_so = d.ma_ho_so
        )
    ) AS satisfied
FROM gap_period AS p
INNER JOIN core.fact_dossier AS d ON p.from_at <= d.finished_at AND p.to_at > d.finished_at
LEFT JOIN gap_procedure AS f ON d.source_id = f.source_id AND d.procedure_code = f.procedure_code
WHERE d.status IN (7, 8, 9, 10)
    AND d.received_at IS NOT NULL
    AND d.competent_unit_code IS NOT NULL
    AND d.synced_to_portal;

-- ON_TIME_766's second part over the synchronized dossiers: open at the period's end with a
-- promised date (received before the end; not finished, or finished at or after the end), and
-- those still on track (promised date not passed at the end, at most one supplement request).
CREATE TEMP TABLE gap_open ON COMMIT DROP AS
SELECT
    p.period_type,
    p.period_start,
    d.competent_unit_code AS unit_code,
    count(*) AS open_with_due,
    count(*) FILTER (WHERE d.due_at >= p.to_at AND d.supplement_count <= 1) AS open_on_track
FROM gap_period AS p
INNER JOIN core.fact_dossier AS d
    ON p.to_at > d.received_at
        AND (d.status NOT IN (7, 8, 9, 10) OR greatest(d.finished_at, d.received_at) >= p.to_at)
WHERE d.due_at IS NOT NULL AND d.status NOT IN (1, 3)
    AND d.competent_unit_code IS NOT NULL
    AND d.synced_to_portal
GROUP BY p.period_type, p.period_start, d.competent_unit_code;

-- Each leaf unit under each scheme (as indicator_value.sql's scheme_unit).
CREATE TEMP TABLE gap_scheme_unit ON COMMIT DROP AS
SELECT
    'as_recorded'::text AS unit_scheme,
    unit_code,
    unit_code AS scheme_unit_code
FROM mart.unit_attribution
WHERE EXISTS (SELECT 1 FROM gap_period)
UNION ALL
SELECT
    'current',
    unit_code,
    current_unit_code
FROM mart.unit_attribution
WHERE current_unit_code IS NOT NULL
    AND EXISTS (SELECT 1 FROM gap_period);

-- Additive items per leaf unit, then rolled up the tree: sums of numerators and denominators.
CREATE TEMP TABLE gap_synced ON COMMIT DROP AS
WITH received_count AS (
    SELECT
        period_type,
        period_start,
        unit_code,
        count(*) FILTER (WHERE NOT synced_to_portal) AS unsynced,
        count(*) FILTER (WHERE synced_to_portal) AS synced,
        count(*) FILTER (WHERE synced_to_portal AND full_online_procedure) AS full_online_received,
        count(*) FILTER (WHERE synced_to_portal AND full_online_procedure AND channel = 2) AS full_online_online,
        count(*) FILTER (WHERE synced_to_portal AND has_positive_fee) AS fee_received,
        count(*) FILTER (
            WHERE synced_to_portal AND has_positive_fee AND online_payment IN (1, 2)
        ) AS fee_paid_online,
        count(*) FILTER (WHERE synced_to_portal AND paper_procedure) AS paper_received,
        count(*) FILTER (WHERE synced_to_portal AND paper_procedure AND has_electronic_result) AS paper_e_result,
        count(*) FILTER (
            WHERE synced_to_portal AND has_digitized_component
            AND (NOT paper_procedure OR has_electronic_result)
        ) AS component_digitized,
        count(*) FILTER (WHERE synced_to_portal AND has_reused_component) AS reused,
        count(*) FILTER (WHERE synced_to_portal AND has_citizen_store_component) AS citizen_store,
        count(*) FILTER (WHERE synced_to_portal AND vneid_verified) AS vneid
    FROM gap_received
    GROUP BY period_type, period_start, unit_code
),

finished_count AS (
    SELECT
        period_type,
        period_start,
        unit_code,
        count(*) AS finished,
        count(*) FILTER (WHERE timeliness IS NOT NULL) AS with_due,
        count(*) FILTER (WHERE timeliness IN ('early', 'on_time')) AS on_time,
        count(*) FILTER (WHERE satisfied) AS satisfied
    FROM gap_finished
    GROUP BY period_type, period_start, unit_code
),

leaf AS (
    SELECT
        r.period_type,
        r.period_start,
        r.unit_code,
        m.indicator_code,
        m.numerator,
        m.denominator
    FROM received_count AS r
    CROSS JOIN LATERAL (
        VALUES
        ('UNSYNCED', r.unsynced, NULL::bigint),
        -- 1.4 over the synchronized dossiers: all of them are synchronized
        ('SYNC_RATE', r.synced, r.synced),
        ('FULL_ONLINE_SHARE', r.full_online_online, r.full_online_received),
        ('ONLINE_PAYMENT', r.fee_paid_online, r.fee_received),
        ('E_RESULT', r.paper_e_result, r.paper_received),
        ('COMPONENT_DIGITIZED', r.component_digitized, r.synced),
        ('REUSE', r.reused, r.synced),
        ('CITIZEN_STORE', r.citizen_store, r.synced),
        ('VNEID', r.vneid, r.synced)
    ) AS m (indicator_code, numerator, denominator)
    UNION ALL
    SELECT
        f.period_type,
        f.period_start,
        f.unit_code,
        m.indicator_code,
        m.numerator,
        m.denominator
    FROM finished_count AS f
    CROSS JOIN LATERAL (
        VALUES
        ('ON_TIME_766', f.on_time, f.with_due),
        ('DOSSIER_SATISFACTION', f.satisfied, f.finished)
    ) AS m (indicator_code, numerator, denominator)
    UNION ALL
    SELECT
        period_type,
        period_start,
        unit_code,
        'ON_TIME_766',
        open_on_track,
        open_with_due
    FROM gap_open
)

SELECT
    v.period_type,
    v.period_start,
    s.unit_scheme,
    c.ancestor_code AS unit_code,
    v.indicator_code,
    sum(v.numerator) AS numerator,
    sum(v.denominator) AS denominator
FROM leaf AS v
INNER JOIN gap_scheme_unit AS s ON v.unit_code = s.unit_code
INNER JOIN core.unit_closure AS c ON s.scheme_unit_code = c.descendant_code
GROUP BY v.period_type, v.period_start, s.unit_scheme, c.ancestor_code, v.indicator_code;

-- 3.5a / 3.5b: distinct procedures over the whole period and subtree, synchronized dossiers only.
INSERT INTO gap_synced
WITH procedure_at_unit AS (
    SELECT
        r.period_type,
        r.period_start,
        s.unit_scheme,
        c.ancestor_code AS unit_code,
        r.procedure_code,
        bool_or(r.fee_procedure) AS fee_procedure,
        bool_or(r.has_positive_fee) AS with_fee_line,
        bool_or(r.online_payment IN (1, 2)) AS paid_online
    FROM gap_received AS r
    INNER JOIN gap_scheme_unit AS s ON r.unit_code = s.unit_code
    INNER JOIN core.unit_closure AS c ON s.scheme_unit_code = c.descendant_code
    WHERE r.synced_to_portal AND r.procedure_code IS NOT NULL
    GROUP BY r.period_type, r.period_start, s.unit_scheme, c.ancestor_code, r.procedure_code
)

SELECT
    u.period_type,
    u.period_start,
    u.unit_scheme,
    u.unit_code,
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
    FROM procedure_at_unit
    GROUP BY period_type, period_start, unit_scheme, unit_code
) AS u
CROSS JOIN LATERAL (
    VALUES
    ('TTHC_WITH_FEE_DATA', u.fee_data, u.fee_procedures),
    ('TTHC_PAID_ONLINE', u.paid_online, u.with_fee_line)
) AS m (indicator_code, numerator, denominator);

-- 4.6: communes of the grid under the unit (valid in the period as recorded, today's in the
-- current scheme) that finished a synchronized e-certified-copy dossier; the denominator, the
-- communes, does not depend on the dossiers and is the own one.
INSERT INTO gap_synced (period_type, period_start, unit_scheme, unit_code, indicator_code, numerator)
WITH offering AS (
    SELECT DISTINCT
        f.period_type,
        f.period_start,
        s.unit_scheme,
        s.scheme_unit_code AS unit_code
    FROM gap_finished AS f
    INNER JOIN gap_scheme_unit AS s ON f.unit_code = s.unit_code
    WHERE f.e_cert_procedure
),

commune AS (
    SELECT
        p.period_type,
        p.period_start,
        scheme.unit_scheme,
        u.unit_code
    FROM gap_period AS p
    CROSS JOIN (VALUES ('as_recorded'), ('current')) AS scheme (unit_scheme)
    INNER JOIN core.dim_unit AS u
        ON u.row_valid_to IS NULL AND u.unit_type = 'XA'
            AND CASE scheme.unit_scheme
                WHEN 'as_recorded' THEN mart.unit_valid_during(u.valid_from, u.valid_to, p.period_start, p.period_end)
                ELSE u.valid_to IS NULL OR u.valid_to >= current_date
            END
)

SELECT
    g.period_type,
    g.period_start,
    g.unit_scheme,
    c.ancestor_code,
    'E_CERT_COPY',
    count(*)
FROM commune AS g
INNER JOIN offering AS o USING (period_type, period_start, unit_scheme, unit_code)
INNER JOIN core.unit_closure AS c ON g.unit_code = c.descendant_code
GROUP BY g.period_type, g.period_start, g.unit_scheme, c.ancestor_code;

-- The rows: every unit the portal published for the period, in each scheme where the province has
-- its own figures for that unit, times every item mapped in force; the portal's figure when it
-- published the item for the unit.
CREATE TEMP TABLE gap_row ON COMMIT DROP AS
WITH portal_unit AS (
    SELECT
        s.period_type,
        s.period_start,
        s.unit_code
    FROM mart.portal_score_current AS s
    INNER JOIN gap_period AS p USING (period_type, period_start)
    UNION
    SELECT
        m.period_type,
        m.period_start,
        m.unit_code
    FROM mart.portal_metric_current AS m
    INNER JOIN gap_period AS p USING (period_type, period_start)
),

compared AS (
    SELECT
        p.period_type,
        p.period_start,
        u.unit_code,
        own.unit_scheme,
        item.portal_item_code AS item_code,
        item.indicator_code,
        item.scoring_item_code,
        own.numerator AS own_numerator,
        own.denominator AS own_denominator,
        CASE
            WHEN item.indicator_code IN ('PAKN_ON_TIME', 'PAKN_SATISFACTION') THEN own.numerator
            ELSE coalesce(synced.numerator, 0)
        END AS own_synced_numerator,
        CASE
            WHEN item.indicator_code IN ('PAKN_ON_TIME', 'PAKN_SATISFACTION', 'E_CERT_COPY') THEN own.denominator
            ELSE coalesce(synced.denominator, 0)
        END AS own_synced_denominator,
        published.numerator AS portal_numerator,
        published.denominator AS portal_denominator,
        published.score AS published_score,
        published.item_code IS NOT NULL AS is_published,
        coalesce(unsynced.numerator, 0) AS unsynced_dossiers,
        rule.rule_kind,
        rule.max_points,
        rule.threshold,
        rule.full_when_empty
    FROM portal_unit AS u
    INNER JOIN gap_period AS p USING (period_type, period_start)
    INNER JOIN mart.portal_item_map AS item
        ON item.valid_from <= p.period_start AND (item.valid_to IS NULL OR item.valid_to > p.period_start)
    INNER JOIN mart.indicator_value AS own
        ON own.period_type = p.period_type AND own.period_start = p.period_start
            AND own.unit_code = u.unit_code AND own.indicator_code = item.indicator_code
    LEFT JOIN gap_synced AS synced
        ON synced.period_type = p.period_type AND synced.period_start = p.period_start
            AND synced.unit_scheme = own.unit_scheme AND synced.unit_code = u.unit_code
            AND synced.indicator_code = item.indicator_code
    LEFT JOIN gap_synced AS unsynced
        ON unsynced.period_type = p.period_type AND unsynced.period_start = p.period_start
            AND unsynced.unit_scheme = own.unit_scheme AND unsynced.unit_code = u.unit_code
            AND unsynced.indicator_code = 'UNSYNCED'
    LEFT JOIN mart.portal_metric_current AS published
        ON published.period_type = p.period_type AND published.period_start = p.period_start
            AND published.unit_code = u.unit_code AND published.item_code = item.portal_item_code
    LEFT JOIN mart.scoring_rule AS rule
        ON rule.item_code = item.scoring_item_code
            AND rule.valid_from <= p.scored_on AND (rule.valid_to IS NULL OR rule.valid_to > p.scored_on)
),

scored AS (
    SELECT
        compared.*,
        mart.apply_scoring_rule(
            rule_kind, max_points, threshold, full_when_empty, own_numerator, own_denominator
        ) AS own_score,
        mart.apply_scoring_rule(
            rule_kind, max_points, threshold, full_when_empty, own_synced_numerator, own_synced_denominator
        ) AS own_synced_score,
        -- the points as published; by the rule over the portal's figures if it left the score out
        CASE WHEN is_published THEN
            coalesce(
                published_score,
                mart.apply_scoring_rule(
                    rule_kind, max_points, threshold, full_when_empty, portal_numerator, portal_denominator
                )
            )
        END AS portal_score
    FROM compared
)

SELECT
    period_type,
    period_start,
    unit_code,
    unit_scheme,
    item_code,
    indicator_code,
    scoring_item_code,
    own_numerator,
    own_denominator,
    own_synced_numerator,
    own_synced_denominator,
    portal_numerator,
    portal_denominator,
    unsynced_dossiers,
    own_score,
    own_synced_score,
    portal_score,
    CASE
        WHEN portal_numerator IS NOT NULL OR portal_denominator IS NOT NULL
            THEN own_synced_numerator IS NOT DISTINCT FROM portal_numerator
            AND own_synced_denominator IS NOT DISTINCT FROM portal_denominator
        WHEN portal_score IS NOT NULL THEN own_synced_score = portal_score
    END AS explained,
    own_score - own_synced_score AS points_from_sync,
    own_synced_score - portal_score AS points_not_explained
FROM scored;

-- Rows no longer computed, or computed with other numbers, go; new or changed ones come in.
DELETE FROM mart.portal_gap AS g
USING gap_period AS p
WHERE g.period_type = p.period_type AND g.period_start = p.period_start
    AND NOT EXISTS (
        SELECT 1 FROM gap_row AS n
        WHERE n.period_type = g.period_type AND n.period_start = g.period_start
            AND n.unit_code = g.unit_code AND n.unit_scheme = g.unit_scheme AND n.item_code = g.item_code
            AND (
                n.indicator_code, n.scoring_item_code, n.own_numerator, n.own_denominator,
                n.own_synced_numerator, n.own_synced_denominator, n.portal_numerator, n.portal_denominator,
                n.unsynced_dossiers, n.own_score, n.own_synced_score, n.portal_score, n.explained,
                n.points_from_sync, n.points_not_explained
            ) IS NOT DISTINCT FROM (
                g.indicator_code, g.scoring_item_code, g.own_numerator, g.own_denominator,
                g.own_synced_numerator, g.own_synced_denominator, g.portal_numerator, g.portal_denominator,
                g.unsynced_dossiers, g.own_score, g.own_synced_score, g.portal_score, g.explained,
                g.points_from_sync, g.points_not_explained
            )
    );

INSERT INTO mart.portal_gap (
    period_type, period_start, unit_code, unit_scheme, item_code, indicator_code, scoring_item_code,
    own_numerator, own_denominator, own_synced_numerator, own_synced_denominator,
    portal_numerator, portal_denominator, unsynced_dossiers, own_score, own_synced_score, portal_score,
    explained, points_from_sync, points_not_explained
)
SELECT
    n.period_type,
    n.period_start,
    n.unit_code,
    n.unit_scheme,
    n.item_code,
    n.indicator_code,
    n.scoring_item_code,
    n.own_numerator,
    n.own_denominator,
    n.own_synced_numerator,
    n.own_synced_denominator,
    n.portal_numerator,
    n.portal_denominator,
    n.unsynced_dossiers,
    n.own_score,
    n.own_synced_score,
    n.portal_score,
    n.explained,
    n.points_from_sync,
    n.points_not_explained
FROM gap_row AS n
WHERE NOT EXISTS (
    SELECT 1 FROM mart.portal_gap AS g
    WHERE g.period_type = n.period_type AND g.period_start = n.period_start
        AND g.unit_code = n.unit_code AND g.unit_scheme = n.unit_scheme AND g.item_code = n.item_code
);

SELECT
    (SELECT count(*) FROM gap_period) AS periods,
    (SELECT count(*) FROM gap_row) AS gap_rows;

-- The temp tables go now, not at commit: the refresh may call this file again in its transaction.
DROP TABLE gap_row, gap_synced, gap_scheme_unit, gap_open, gap_finished, gap_received, gap_procedure, gap_period;
