-- What the people who handle dossiers act on (docs/worklists.md): the state of every open dossier
-- at any instant, the watchlist built on it, the late dossiers without an apology slip, the
-- statutory reporting windows of form 06/VPCP/KSTT, and the views BI tools read of them.

-- The length of a period of each type.
CREATE OR REPLACE FUNCTION mart.period_length(period_type text)
RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE period_type
        WHEN 'month' THEN interval '1 month'
        WHEN 'quarter' THEN interval '3 months'
        WHEN 'half' THEN interval '6 months'
        WHEN 'year' THEN interval '1 year'
    END
$$;

-- The statutory window of a nominal period (Decree 09/2019/NĐ-CP): from the day after the cut-off
-- day of the month before the period to the day after the cut-off day of its last month, with the
-- cut-off of mart.statutory_cutoff in force on the period's first day. With 14: Q2 2024 =
-- [2024-03-15, 2024-06-15), the year 2024 = [2023-12-15, 2024-12-15).
CREATE OR REPLACE FUNCTION mart.statutory_window(
    period_type text, period_start date, OUT window_start date, OUT window_end date
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT
        (statutory_window.period_start - interval '1 month')::date + c.cutoff_day,
        (statutory_window.period_start + mart.period_length(statutory_window.period_type)
         - interval '1 month')::date + c.cutoff_day
    FROM mart.statutory_cutoff AS c
    WHERE c.valid_from <= statutory_window.period_start
    ORDER BY c.valid_from DESC
    LIMIT 1
$$;

-- Whether a unit (its HieuLucTu / HieuLucDen) was valid at some time in [first_day, end_day): the
-- units a period shows as recorded.
CREATE OR REPLACE FUNCTION mart.unit_valid_during(valid_from date, valid_to date, first_day date, end_day date)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT coalesce(valid_from, date '-infinity') < end_day AND coalesce(valid_to, date 'infinity') >= first_day
$$;

-- Every dossier of D open at an instant, and its state then, rebuilt from the timestamps alone (a
-- dossier finished since is still open at an earlier instant). For a dossier of D and instant t:
--   open at t      received before t, not finished before t (finished = status 7-10 with an end);
--   requests(t)    its supplement requests made before t; answered(t) those answered before t;
--   pause(t)       the sum over answered(t) of (answered - requested);
--   due_eff(t)     NgayHenTra + pause(t);
--   clock(t)       the earliest request of requests(t) not answered by t, else t;
--   late at t      more than one request in requests(t), or NgayHenTra present and
--                  clock(t) > due_eff(t).
-- The open dossiers are found by btree as for ON_TIME_766 (schema/V004__core.sql says why): the
-- short-lived through the reception and finish indexes, the others through
-- fact_dossier_unfinished_long_idx (V007). Inlined into its callers (a plain SQL function), so a
-- lateral call per instant is one index lookup per instant. Reads core: not for BI roles.
-- source_id last (V011): dossier codes are the source's own. The return types changed with it.
DROP FUNCTION IF EXISTS mart.watchlist_at(timestamptz);
DROP FUNCTION IF EXISTS mart.late_without_apology_at(timestamptz);
DROP FUNCTION IF EXISTS core.dossier_state_at(timestamptz);
CREATE FUNCTION core.dossier_state_at(instant timestamptz)
RETURNS TABLE (
    dossier_id bigint,
    ma_ho_so text,
    unit_code text,
    procedure_code text,
    procedure_name text,
    field_code text,
    received_at timestamptz,
    due_at timestamptz,
    due_effective_at timestamptz,
    clock_at timestamptz,
    requests bigint,
    waiting_supplement boolean,
    is_late boolean,
    applicant_token text,
    source_id text
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH open_dossier AS (
        SELECT d.dossier_id, d.ma_ho_so, d.competent_unit_code, d.procedure_code, d.procedure_name,
               d.field_code, d.received_at, d.due_at, d.supplement_count, d.applicant_id_token, d.source_id
        FROM core.fact_dossier AS d
        WHERE d.received_at >= instant - core.open_dossier_window() AND d.received_at < instant
          AND d.finished_at >= instant AND d.finished_at < instant + core.open_dossier_window()
          AND d.status NOT IN (1, 3)
          AND NOT core.dossier_unfinished_long(d.status, d.received_at, d.finished_at)
        UNION ALL
        SELECT d.dossier_id, d.ma_ho_so, d.competent_unit_code, d.procedure_code, d.procedure_name,
               d.field_code, d.received_at, d.due_at, d.supplement_count, d.applicant_id_token, d.source_id
        FROM core.fact_dossier AS d
        WHERE d.received_at < instant AND d.received_at IS NOT NULL AND d.status NOT IN (1, 3)
          AND core.dossier_unfinished_long(d.status, d.received_at, d.finished_at)
          AND (d.status NOT IN (7, 8, 9, 10) OR d.finished_at IS NULL OR d.finished_at >= instant)
    )
    SELECT
        o.dossier_id, o.ma_ho_so, o.competent_unit_code, o.procedure_code, o.procedure_name, o.field_code,
        o.received_at, o.due_at,
        o.due_at + s.pause,
        coalesce(s.open_request_at, instant),
        s.requests,
        s.open_request_at IS NOT NULL,
        s.requests > 1 OR (o.due_at IS NOT NULL AND coalesce(s.open_request_at, instant) > o.due_at + s.pause),
        o.applicant_id_token,
        o.source_id
    FROM open_dossier AS o
    -- Only dossiers with a request read their requests: for the others the condition on
    -- supplement_count is a one-time filter and no index is touched.
    CROSS JOIN LATERAL (
        SELECT
            count(*) AS requests,
            coalesce(sum(x.answered_at - x.requested_at) FILTER (WHERE x.answered_at < instant),
                     interval '0') AS pause,
            min(x.requested_at) FILTER (WHERE x.answered_at IS NULL OR x.answered_at >= instant) AS open_request_at
        FROM core.dossier_supplement AS x
        WHERE x.dossier_id = o.dossier_id AND o.supplement_count > 0 AND x.requested_at < instant
    ) AS s
    WHERE o.competent_unit_code IS NOT NULL
$$;

-- The office that had a dossier at an instant: the PhongBanXuLy of its latest step at or before it.
CREATE OR REPLACE FUNCTION core.dossier_office_at(dossier bigint, instant timestamptz)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT st.department
    FROM core.dossier_step AS st
    WHERE st.dossier_id = dossier AND st.step_at <= instant
    ORDER BY st.step_at DESC, st.position DESC
    LIMIT 1
$$;

-- The watchlist at an instant: the dossiers open then that someone must act on, first match wins:
--   overdue              late at the instant;
--   waiting_supplement   a request not answered yet (the clock stopped), not late, NgayHenTra present;
--   due_24h / due_72h    due_eff less than 24 / 72 hours away.
-- Others, and dossiers without NgayHenTra that are not late, are not listed. hours_left is
-- due_eff - clock: the time left when the clock runs again, negative when overdue by date (a
-- dossier late by a second request may have time left and is overdue all the same). The applicant
-- appears only as its pseudonymized token. A source retired before the instant (core.source's
-- active_to) lists nothing: its open dossiers went to the system that took over. Runs as its
-- owner, so BI roles can call it without reading core.
CREATE FUNCTION mart.watchlist_at(at timestamptz)
RETURNS TABLE (
    ma_ho_so text,
    unit_code text,
    unit_name text,
    procedure_code text,
    procedure_name text,
    received_at timestamptz,
    due_at timestamptz,
    hours_left numeric,
    office text,
    category text,
    applicant_token text,
    source_id text
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- its plan is cheap to run and costly to compile: JIT took 451 of 588 ms (bench/results/)
SET jit = off
AS $$
    SELECT
        s.ma_ho_so, s.unit_code, u.unit_name, s.procedure_code, s.procedure_name, s.received_at,
        s.due_effective_at,
        round((extract(EPOCH FROM s.due_effective_at - s.clock_at) / 3600)::numeric, 1),
        core.dossier_office_at(s.dossier_id, $1),
        c.category,
        s.applicant_token,
        s.source_id
    FROM core.dossier_state_at($1) AS s
    CROSS JOIN LATERAL (
        SELECT CASE
            WHEN s.is_late THEN 'overdue'
            WHEN s.waiting_supplement AND s.due_at IS NOT NULL THEN 'waiting_supplement'
            WHEN s.due_effective_at - $1 < interval '24 hours' THEN 'due_24h'
            WHEN s.due_effective_at - $1 < interval '72 hours' THEN 'due_72h'
        END AS category
    ) AS c
    LEFT JOIN core.dim_unit AS u ON u.unit_code = s.unit_code AND u.row_valid_to IS NULL
    -- a retired system's dossiers leave the list after its last day of service (handed over)
    LEFT JOIN core.source AS src ON src.source_id = s.source_id
    WHERE c.category IS NOT NULL
        AND (src.active_to IS NULL OR $1 < ((src.active_to + 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'))
$$;

-- Dossiers of D finished late in the 30 days before an instant without an apology slip
-- (CoPhieuXinLoi = 0), which the law requires. Late as form 06 counts it (marts/form_06.sql): the
-- indicators' timeliness, or more than one supplement request also without NgayHenTra (timeliness
-- is NULL then).
CREATE FUNCTION mart.late_without_apology_at(at timestamptz)
RETURNS TABLE (
    ma_ho_so text,
    unit_code text,
    unit_name text,
    procedure_code text,
    procedure_name text,
    received_at timestamptz,
    due_at timestamptz,
    finished_at timestamptz,
    office text,
    applicant_token text,
    source_id text
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- its plan is cheap to run and costly to compile: JIT took 451 of 588 ms (bench/results/)
SET jit = off
AS $$
    SELECT
        d.ma_ho_so, d.competent_unit_code, u.unit_name, d.procedure_code, d.procedure_name,
        d.received_at, d.due_at, d.finished_at,
        core.dossier_office_at(d.dossier_id, d.finished_at),
        d.applicant_id_token,
        d.source_id
    FROM core.fact_dossier AS d
    LEFT JOIN core.dim_unit AS u ON u.unit_code = d.competent_unit_code AND u.row_valid_to IS NULL
    WHERE d.finished_at >= $1 - interval '30 days' AND d.finished_at < $1
        AND d.status IN (7, 8, 9, 10) AND d.received_at IS NOT NULL AND d.competent_unit_code IS NOT NULL
        AND (d.timeliness = 'late' OR d.supplement_count > 1) AND NOT d.has_apology
$$;

COMMENT ON FUNCTION mart.watchlist_at(timestamptz) IS
'Hồ sơ cần xử lý tại thời điểm at: quá hạn, chờ bổ sung, đến hạn trong 24 giờ (hỏa tốc), trong 3 ngày (khẩn)';
COMMENT ON FUNCTION mart.late_without_apology_at(timestamptz) IS
'Hồ sơ giải quyết quá hạn trong 30 ngày trước thời điểm at chưa có phiếu xin lỗi';
COMMENT ON FUNCTION mart.statutory_window(text, date) IS
'Kỳ chốt số liệu báo cáo định kỳ (Nghị định 09/2019/NĐ-CP) của một kỳ báo cáo';

CREATE OR REPLACE VIEW mart.bi_watchlist AS
SELECT
    w.as_of,
    w.unit_code,
    w.unit_name,
    c.urgency,
    w.category,
    c.label_vi AS category_label,
    w.ma_ho_so,
    w.procedure_code,
    w.procedure_name,
    w.office,
    (w.received_at AT TIME ZONE 'Asia/Ho_Chi_Minh') AS received_local,
    (w.due_at AT TIME ZONE 'Asia/Ho_Chi_Minh') AS due_local,
    w.hours_left,
    w.applicant_token,
    w.source_id
FROM mart.watchlist AS w
INNER JOIN mart.watchlist_category AS c USING (category);

COMMENT ON VIEW mart.bi_watchlist IS 'Hồ sơ cần xử lý ngay theo đơn vị: quá hạn, chờ bổ sung, hỏa tốc, khẩn';
COMMENT ON COLUMN mart.bi_watchlist.as_of IS 'Thời điểm lập danh sách (cuối kỳ dữ liệu mới nhất)';
COMMENT ON COLUMN mart.bi_watchlist.unit_name IS 'Đơn vị giải quyết';
COMMENT ON COLUMN mart.bi_watchlist.urgency IS 'Mức độ khẩn (1 = khẩn nhất)';
COMMENT ON COLUMN mart.bi_watchlist.category_label IS 'Tình trạng';
COMMENT ON COLUMN mart.bi_watchlist.ma_ho_so IS 'Mã hồ sơ';
COMMENT ON COLUMN mart.bi_watchlist.procedure_name IS 'Thủ tục hành chính';
COMMENT ON COLUMN mart.bi_watchlist.office IS 'Bộ phận đang xử lý';
COMMENT ON COLUMN mart.bi_watchlist.received_local IS 'Ngày tiếp nhận (giờ Việt Nam)';
COMMENT ON COLUMN mart.bi_watchlist.due_local IS 'Hạn trả kết quả, đã cộng thời gian chờ bổ sung (giờ Việt Nam)';
COMMENT ON COLUMN mart.bi_watchlist.hours_left IS 'Số giờ còn lại (âm: đã quá hạn)';
COMMENT ON COLUMN mart.bi_watchlist.applicant_token IS 'Mã bí danh của người nộp (không phải dữ liệu cá nhân)';

CREATE OR REPLACE VIEW mart.bi_late_without_apology AS
SELECT
    l.as_of,
    l.unit_code,
    l.unit_name,
    l.ma_ho_so,
    l.procedure_code,
    l.procedure_name,
    l.office,
    (l.due_at AT TIME ZONE 'Asia/Ho_Chi_Minh') AS due_local,
    (l.finished_at AT TIME ZONE 'Asia/Ho_Chi_Minh') AS finished_local,
    l.applicant_token,
    l.source_id
FROM mart.late_without_apology AS l;

COMMENT ON VIEW mart.bi_late_without_apology IS
'Hồ sơ giải quyết quá hạn trong 30 ngày gần nhất chưa có phiếu xin lỗi (bắt buộc theo quy định)';

CREATE OR REPLACE VIEW mart.bi_form_06 AS
SELECT
    f.period_kind,
    -- the cut-off day is configuration (mart.statutory_cutoff): the window's last day says it
    CASE f.period_kind
        WHEN 'statutory' THEN 'Kỳ báo cáo (chốt số liệu ngày ' || extract(DAY FROM f.window_end - 1) || ')'
        ELSE 'Kỳ dương lịch'
    END AS period_kind_label,
    f.period_type,
    f.period_start,
    mart.period_label(f.period_type, f.period_start) AS period_label,
    f.window_start,
    f.window_end - 1 AS window_last_day,
    f.unit_scheme,
    f.unit_code,
    u.unit_name,
    t.label_vi AS unit_type_vi,
    f.field_code,
    coalesce(f.field_name, 'Tổng số') AS field_label,
    f.received_total,
    f.received_online,
    f.received_in_person,
    f.received_carried_over,
    f.finished_total,
    f.finished_early,
    f.finished_on_time,
    f.finished_late,
    f.finished_without_due,
    f.in_progress_total,
    f.in_progress_within_time,
    f.in_progress_overdue
FROM mart.form_06 AS f
LEFT JOIN mart.unit AS u ON u.unit_code = f.unit_code
LEFT JOIN mart.unit_type_label AS t ON t.unit_type = f.unit_type;

COMMENT ON VIEW mart.bi_form_06 IS
'Biểu 06/VPCP/KSTT: tình hình, kết quả giải quyết TTHC theo đơn vị và lĩnh vực (Thông tư 01/2020/TT-VPCP)';
COMMENT ON COLUMN mart.bi_form_06.period_kind_label IS
'Loại kỳ: kỳ báo cáo theo Nghị định 09/2019/NĐ-CP hay kỳ dương lịch';
COMMENT ON COLUMN mart.bi_form_06.window_start IS 'Số liệu từ ngày';
COMMENT ON COLUMN mart.bi_form_06.window_last_day IS 'Số liệu đến hết ngày';
COMMENT ON COLUMN mart.bi_form_06.field_label IS 'Lĩnh vực (Tổng số: cả đơn vị)';
COMMENT ON COLUMN mart.bi_form_06.received_total IS 'Số hồ sơ nhận giải quyết: tổng số';
COMMENT ON COLUMN mart.bi_form_06.received_online IS 'Số hồ sơ nhận giải quyết: trực tuyến';
COMMENT ON COLUMN mart.bi_form_06.received_in_person IS 'Số hồ sơ nhận giải quyết: trực tiếp, dịch vụ bưu chính';
COMMENT ON COLUMN mart.bi_form_06.received_carried_over IS 'Số hồ sơ nhận giải quyết: từ kỳ trước chuyển qua';
COMMENT ON COLUMN mart.bi_form_06.finished_total IS 'Số hồ sơ đã giải quyết: tổng số';
COMMENT ON COLUMN mart.bi_form_06.finished_early IS 'Số hồ sơ đã giải quyết: trước hạn';
COMMENT ON COLUMN mart.bi_form_06.finished_on_time IS 'Số hồ sơ đã giải quyết: đúng hạn';
COMMENT ON COLUMN mart.bi_form_06.finished_late IS 'Số hồ sơ đã giải quyết: quá hạn';
COMMENT ON COLUMN mart.bi_form_06.finished_without_due IS 'Trong đó không có ngày hẹn trả (tính là đúng hạn)';
COMMENT ON COLUMN mart.bi_form_06.in_progress_total IS 'Số hồ sơ đang giải quyết: tổng số';
COMMENT ON COLUMN mart.bi_form_06.in_progress_within_time IS 'Số hồ sơ đang giải quyết: trong hạn';
COMMENT ON COLUMN mart.bi_form_06.in_progress_overdue IS 'Số hồ sơ đang giải quyết: quá hạn';

-- The functions and views above were created after R__mart_functions.sql granted EXECUTE on the
-- schema's functions.
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA mart TO bi_reader;
