-- Recompute the monthly leaf aggregates of the months in refresh_month, per unit as recorded
-- (definitions: docs/indicators.md, "The indicators")
-- (the competent unit, MaDonViXuLy), from core.fact_dossier: only the dossiers received or
-- finished in those months are read (index ranges on received_at / finished_at).
-- Months are local months (Asia/Ho_Chi_Minh): a dossier received on 31 December 23:59 local time
-- belongs to December even though it is 16:59 UTC.

CREATE TEMP TABLE month_bound ON COMMIT DROP AS
SELECT
    month,
    month::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS from_at,
    (month + interval '1 month')::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS to_at
FROM refresh_month;
ANALYZE month_bound;

-- Procedure attributes from the current catalogue version (SCD-2 row validity is extraction
-- time, not business time, so the current version is the only one that covers every dossier), of
-- the dossier's own source: provinces set their own fees and levels for the same national code.
CREATE TEMP TABLE procedure_flag ON COMMIT DROP AS
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
WHERE p.row_valid_to IS NULL;

-- D received in the month: not deleted (deleted dossiers are not in the facts), received, status
-- not 1 or 3.
CREATE TEMP TABLE received_dossier ON COMMIT DROP AS
SELECT
    b.month,
    d.competent_unit_code AS unit_code,
    d.procedure_code,
    d.channel,
    d.online_payment,
    d.has_positive_fee,
    d.has_electronic_result,
    d.has_digitized_component,
    d.has_reused_component,
    d.has_citizen_store_component,
    d.vneid_verified,
    d.synced_to_portal,
    coalesce(p.has_fee, FALSE) AS fee_procedure,
    coalesce(p.has_paper_result, FALSE) AS paper_procedure,
    coalesce(p.full_online, FALSE) AS full_online_procedure
FROM month_bound AS b
INNER JOIN core.fact_dossier AS d ON b.from_at <= d.received_at AND b.to_at > d.received_at
LEFT JOIN procedure_flag AS p ON d.source_id = p.source_id AND d.procedure_code = p.procedure_code
WHERE d.status NOT IN (1, 3)
    AND d.competent_unit_code IS NOT NULL;
ANALYZE received_dossier;

-- Working-day ordinal of each calendar day: days between two dates = difference of ordinals.
CREATE TEMP TABLE working_day ON COMMIT DROP AS
SELECT
    day,
    sum(CASE WHEN is_working_day THEN 1 ELSE 0 END) OVER (ORDER BY day) AS ordinal
FROM core.dim_date;
CREATE INDEX ON working_day (day);
ANALYZE working_day;

-- D finished in the month: status 7-10 with NgayKetThucXuLy. Timeliness was derived at merge time
-- (supplement pauses, more than one supplement = late, no promised date = NULL).
CREATE TEMP TABLE finished_dossier ON COMMIT DROP AS
SELECT
    b.month,
    d.competent_unit_code AS unit_code,
    d.status,
    d.timeliness,
    d.due_at,
    d.has_apology,
    d.has_electronic_result,
    d.rating,
    coalesce(p.e_cert, FALSE) AS e_cert_procedure,
    EXISTS(
        SELECT 1 FROM core.fact_feedback AS f
        WHERE f.source_id = d.source_id AND f.ma_ho_so = d.ma_ho_so
    ) AS has_pakn,
    -- working days after the day of reception up to the day processing ended (pauses removed)
    greatest(0, wd_end.ordinal - wd_start.ordinal) AS working_days
FROM month_bound AS b
INNER JOIN core.fact_dossier AS d ON b.from_at <= d.finished_at AND b.to_at > d.finished_at
LEFT JOIN procedure_flag AS p ON d.source_id = p.source_id AND d.procedure_code = p.procedure_code
LEFT JOIN working_day AS wd_start ON wd_start.day = (d.received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
LEFT JOIN working_day AS wd_end ON wd_end.day = (d.end_adjusted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
WHERE d.status IN (7, 8, 9, 10)
    AND d.received_at IS NOT NULL
    AND d.competent_unit_code IS NOT NULL;
ANALYZE finished_dossier;

DELETE FROM mart.agg_unit_month
WHERE month IN (SELECT month FROM refresh_month);
DELETE FROM mart.agg_unit_month_procedure
WHERE month IN (SELECT month FROM refresh_month);

INSERT INTO mart.agg_unit_month (month, unit_code, indicator_code, numerator, denominator)
WITH received_count AS (
    SELECT
        month,
        unit_code,
        count(*) AS received,
        count(*) FILTER (WHERE channel = 2) AS online,
        count(*) FILTER (WHERE full_online_procedure) AS full_online_received,
        count(*) FILTER (WHERE full_online_procedure AND channel = 2) AS full_online_online,
        count(*) FILTER (WHERE has_positive_fee) AS fee_received,
        count(*) FILTER (WHERE has_positive_fee AND online_payment IN (1, 2)) AS fee_paid_online,
        count(*) FILTER (WHERE paper_procedure) AS paper_received,
        count(*) FILTER (WHERE paper_procedure AND has_electronic_result) AS paper_e_result,
        count(*) FILTER (
            WHERE has_digitized_component AND (NOT paper_procedure OR has_electronic_result)
        ) AS component_digitized,
        count(*) FILTER (WHERE has_reused_component) AS reused,
        count(*) FILTER (WHERE has_citizen_store_component) AS citizen_store,
        count(*) FILTER (WHERE vneid_verified) AS vneid,
        count(*) FILTER (WHERE synced_to_portal) AS synced
    FROM received_dossier
    GROUP BY month, unit_code
),

finished_count AS (
    SELECT
        month,
        unit_code,
        count(*) AS finished,
        count(*) FILTER (WHERE timeliness IS NOT NULL) AS with_due,
        count(*) FILTER (WHERE timeliness IN ('early', 'on_time')) AS on_time,
        count(*) FILTER (WHERE timeliness = 'late') AS late,
        count(*) FILTER (WHERE timeliness = 'late' AND NOT has_apology) AS late_no_apology,
        count(*) FILTER (WHERE due_at IS NULL) AS no_due_date,
        count(*) FILTER (WHERE status IN (9, 10)) AS completed,
        count(*) FILTER (WHERE status IN (9, 10) AND has_electronic_result) AS completed_e_result,
        -- 5.4: less the late ones, those rated 0 and those with a PAKN (each once)
        count(*) FILTER (
            WHERE timeliness IS DISTINCT FROM 'late' AND rating IS DISTINCT FROM 0 AND NOT has_pakn
        ) AS satisfied,
        sum(working_days) AS working_days,
        count(working_days) AS measured,
        count(*) FILTER (WHERE e_cert_procedure) AS e_cert
    FROM finished_dossier
    GROUP BY month, unit_code
),

measure AS (
    SELECT
        r.month,
        r.unit_code,
        m.indicator_code,
        m.numerator,
        m.denominator
    FROM received_count AS r
    CROSS JOIN
        LATERAL (
            VALUES
            ('RECEIVED', r.received, NULL::bigint),
            ('ONLINE_SHARE', r.online, r.received),
            ('FULL_ONLINE_SHARE', r.full_online_online, r.full_online_received),
            ('ONLINE_PAYMENT', r.fee_paid_online, r.fee_received),
            ('E_RESULT', r.paper_e_result, r.paper_received),
            ('COMPONENT_DIGITIZED', r.component_digitized, r.received),
            ('REUSE', r.reused, r.received),
            ('CITIZEN_STORE', r.citizen_store, r.received),
            ('VNEID', r.vneid, r.received),
            ('SYNC_RATE', r.synced, r.received)
        ) AS m (indicator_code, numerator, denominator)
    UNION ALL
    SELECT
        f.month,
        f.unit_code,
        m.indicator_code,
        m.numerator,
        m.denominator
    FROM finished_count AS f
    CROSS JOIN LATERAL (
        VALUES
        ('FINISHED', f.finished, NULL::numeric),
        ('ON_TIME_FINISHED', f.on_time, f.with_due),
        ('LATE_FINISHED', f.late, NULL),
        ('LATE_NO_APOLOGY', f.late_no_apology, NULL),
        ('NO_DUE_DATE', f.no_due_date, NULL),
        ('RESULT_DIGITIZED', f.completed_e_result, f.completed),
        ('DOSSIER_SATISFACTION', f.satisfied, f.finished),
        ('AVG_WORKING_DAYS', f.working_days, f.measured),
        -- the finished-in-month part of ON_TIME_766; the dossiers still open at a period's end
        -- are added per period (indicator_value.sql)
        ('ON_TIME_766', f.on_time, f.with_due),
        -- per commune: > 0 means the commune offered e-certified copies that month
        ('E_CERT_COPY', f.e_cert, NULL)
    ) AS m (indicator_code, numerator, denominator)
)

SELECT
    month,
    unit_code,
    indicator_code,
    coalesce(numerator, 0),
    denominator
FROM measure;

INSERT INTO mart.agg_unit_month_procedure (month, unit_code, procedure_code, fee_procedure, with_fee_line, paid_online)
SELECT
    month,
    unit_code,
    procedure_code,
    bool_or(fee_procedure),
    bool_or(has_positive_fee),
    bool_or(online_payment IN (1, 2))
FROM received_dossier
WHERE procedure_code IS NOT NULL
GROUP BY month, unit_code, procedure_code;

INSERT INTO mart.agg_month_log (month)
SELECT month FROM refresh_month
ON CONFLICT (month) DO UPDATE SET computed_at = now();

SELECT
    (SELECT count(*) FROM received_dossier),
    (SELECT count(*) FROM finished_dossier);
