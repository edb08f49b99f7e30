-- What the people who handle dossiers act on: the dossiers about to go late (the watchlist), the
-- late ones without an apology slip, the daily digests that send each unit its own list, and the
-- statutory form 06/VPCP/KSTT. Definitions: docs/worklists.md. The functions and views over these
-- tables: marts/views/R__mart_worklists.sql; their refresh: marts/form_06.sql, marts/watchlist.sql.

-- The state of a dossier at an instant t needs the dossiers open at t whatever their promised
-- date. Most are found through the reception and finish indexes (received in the window before t,
-- finished in the window after it; V004 says why); the rest, not finished (also status 7 or 8
-- without an end date) or open longer than the window, have this partial index. It is a superset
-- of fact_dossier_open_long_idx (that one leaves out dossiers without NgayHenTra, which ON_TIME_766
-- does not count and the form does).
CREATE FUNCTION core.dossier_unfinished_long(status smallint, received_at timestamptz, finished_at timestamptz)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT status NOT IN (7, 8, 9, 10) OR finished_at IS NULL OR finished_at - received_at > interval '45 days'
$$;

CREATE INDEX fact_dossier_unfinished_long_idx ON core.fact_dossier (received_at)
WHERE received_at IS NOT NULL AND status NOT IN (1, 3)
AND core.dossier_unfinished_long(status, received_at, finished_at);

-- The statutory reporting windows (Decree 09/2019/NĐ-CP): a period's data run from the day after
-- the cut-off day of the month before it to the cut-off day of its last month, e.g. with 14:
-- Q2 2024 = [2024-03-15, 2024-06-15). Configuration, with validity dates like the scoring rules:
-- the rule in force on a period's first day cuts it.
CREATE TABLE mart.statutory_cutoff (
    valid_from date PRIMARY KEY,
    cutoff_day smallint NOT NULL CHECK (cutoff_day BETWEEN 1 AND 27),
    source text NOT NULL
);
INSERT INTO mart.statutory_cutoff (valid_from, cutoff_day, source) VALUES
('2019-03-01', 14, 'Nghị định 09/2019/NĐ-CP, Điều 12: thời gian chốt số liệu báo cáo định kỳ');

-- Leaf counts of the form, per competent unit as recorded, field and half-month bucket: the
-- additive columns. Each month is cut in two at the statutory cut-off (days 1..14 and 15..end with
-- a cut-off of 14), so that every calendar period and every statutory window is a union of whole
-- buckets. A refresh recomputes the buckets of the months it touches (as mart.agg_unit_month);
-- a change of the cut-off needs a full rebuild.
CREATE TABLE mart.agg_form_06_bucket (
    bucket_start date NOT NULL,          -- the month's first day, or the day after its cut-off
    unit_code text NOT NULL,
    field_code text NOT NULL,            -- '' when the dossier has no MaLinhVuc
    received_online integer NOT NULL,
    received_in_person integer NOT NULL,
    finished_early integer NOT NULL,
    finished_on_time integer NOT NULL,
    finished_late integer NOT NULL,
    finished_without_due integer NOT NULL,   -- of finished_on_time: no NgayHenTra
    PRIMARY KEY (bucket_start, unit_code, field_code)
);

-- Form 06/VPCP/KSTT (Circular 01/2020/TT-VPCP) per reporting window, unit, unit scheme and field;
-- field_code NULL is the unit's total row. Every row: received_total = finished_total +
-- in_progress_total (marts/invariants.sql holds it).
CREATE TABLE mart.form_06 (
    period_kind text NOT NULL CHECK (period_kind IN ('calendar', 'statutory')),
    period_type text NOT NULL CHECK (period_type IN ('month', 'quarter', 'half', 'year')),
    period_start date NOT NULL,          -- the nominal period's first day
    window_start date NOT NULL,          -- the data's window [window_start, window_end), local days
    window_end date NOT NULL,
    unit_code text NOT NULL,
    unit_scheme text NOT NULL CHECK (unit_scheme IN ('as_recorded', 'current')),
    unit_type text NOT NULL,
    parent_code text,
    field_code text,
    field_name text,
    received_total integer NOT NULL,
    received_online integer NOT NULL,
    received_in_person integer NOT NULL,
    received_carried_over integer NOT NULL,
    finished_total integer NOT NULL,
    finished_early integer NOT NULL,
    finished_on_time integer NOT NULL,
    finished_late integer NOT NULL,
    finished_without_due integer NOT NULL,
    in_progress_total integer NOT NULL,
    in_progress_within_time integer NOT NULL,
    in_progress_overdue integer NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    CHECK (received_total = received_carried_over + received_online + received_in_person),
    CHECK (finished_total = finished_early + finished_on_time + finished_late),
    CHECK (in_progress_total = in_progress_within_time + in_progress_overdue),
    CHECK (finished_without_due <= finished_on_time)
);
CREATE UNIQUE INDEX form_06_key_idx ON mart.form_06 (
    period_kind, period_type, period_start, unit_code, unit_scheme, field_code
) NULLS NOT DISTINCT;

-- Watchlist categories, most urgent first, with the labels the digests and BI tools show.
CREATE TABLE mart.watchlist_category (
    category text PRIMARY KEY,
    urgency integer NOT NULL UNIQUE,     -- 1 = most urgent
    label_vi text NOT NULL,
    label_en text NOT NULL
);
INSERT INTO mart.watchlist_category (category, urgency, label_vi, label_en) VALUES
('overdue', 1, 'Quá hạn', 'Overdue'),
('waiting_supplement', 2, 'Chờ bổ sung', 'Waiting for a supplement'),
('due_24h', 3, 'Hỏa tốc (đến hạn trong 24 giờ)', 'Due within 24 hours'),
('due_72h', 4, 'Khẩn (đến hạn trong 3 ngày)', 'Due within 72 hours');

-- The watchlist as of the end of the newest loaded dossier window (mart.watchlist_at of that
-- instant), rewritten by every indicator refresh.
CREATE TABLE mart.watchlist (
    as_of timestamptz NOT NULL,
    ma_ho_so text NOT NULL PRIMARY KEY,
    unit_code text NOT NULL,
    unit_name text,
    procedure_code text,
    procedure_name text,
    received_at timestamptz NOT NULL,
    due_at timestamptz,
    hours_left numeric,
    office text,
    category text NOT NULL REFERENCES mart.watchlist_category,
    applicant_token text
);
CREATE INDEX watchlist_unit_idx ON mart.watchlist (unit_code, category);

-- Dossiers finished late in the 30 days before the same instant without an apology slip
-- (CoPhieuXinLoi = 0), which the law requires.
CREATE TABLE mart.late_without_apology (
    as_of timestamptz NOT NULL,
    ma_ho_so text NOT NULL PRIMARY KEY,
    unit_code text NOT NULL,
    unit_name text,
    procedure_code text,
    procedure_name text,
    received_at timestamptz NOT NULL,
    due_at timestamptz,
    finished_at timestamptz NOT NULL,
    office text,
    applicant_token text
);
CREATE INDEX late_without_apology_unit_idx ON mart.late_without_apology (unit_code);

-- Who gets a unit's daily digest: maintained by the province (a unit may have several addresses;
-- a row can be switched off without losing it). A unit without an active row goes to the
-- fallback address of the digest DAG and is named in its log.
CREATE TABLE quality.unit_contact (
    unit_code text NOT NULL,
    email text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$'),
    active boolean NOT NULL DEFAULT TRUE,
    note text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (unit_code, email)
);

-- Digests already sent: one per unit, day and channel, so re-running a day sends nothing twice.
CREATE TABLE quality.digest_sent (
    digest_day date NOT NULL,
    unit_code text NOT NULL,
    channel text NOT NULL CHECK (channel IN ('email', 'webhook')),
    recipients text[] NOT NULL DEFAULT '{}',
    entries integer NOT NULL,
    sent_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (digest_day, unit_code, channel)
);

-- The form's leaves are new: every month must be aggregated again before a quarter, half or
-- year is built from it (the refresh recomputes months missing from the log).
DELETE FROM mart.agg_month_log;

COMMENT ON TABLE mart.form_06 IS
'Biểu mẫu 06/VPCP/KSTT: tình hình, kết quả giải quyết TTHC theo kỳ, đơn vị, lĩnh vực (bảng gốc; xem mart.bi_form_06)';
COMMENT ON TABLE mart.watchlist IS
'Hồ sơ cần xử lý ngay: quá hạn, chờ bổ sung, sắp đến hạn (bảng gốc; xem mart.bi_watchlist)';
COMMENT ON TABLE mart.late_without_apology IS 'Hồ sơ giải quyết quá hạn trong 30 ngày gần nhất chưa có phiếu xin lỗi';
COMMENT ON TABLE mart.statutory_cutoff IS 'Ngày chốt số liệu báo cáo định kỳ (Nghị định 09/2019/NĐ-CP)';
