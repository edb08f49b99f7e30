-- mart: what BI tools read. Indicator values and the 766 scorecard per period, unit and unit
-- scheme, the configuration the refresh and the scoring read (as data, with validity dates where
-- the rules have changed before), and the monthly leaf aggregates an incremental refresh re-reads
-- instead of the facts. Views and functions: marts/views/.

-- The indicator catalogue with Vietnamese labels for BI tools.
CREATE TABLE mart.indicator (
    indicator_code text PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('count', 'ratio', 'average')),
    label_vi       text NOT NULL,
    label_en       text NOT NULL
);
INSERT INTO mart.indicator (indicator_code, kind, label_vi, label_en) VALUES
    ('RECEIVED',            'count',   'Số hồ sơ tiếp nhận',                                  'Dossiers received'),
    ('FINISHED',            'count',   'Số hồ sơ đã giải quyết',                              'Dossiers finished'),
    ('ON_TIME_FINISHED',    'ratio',   'Tỷ lệ hồ sơ trả trước và đúng hạn',                   'Finished on time or early'),
    ('LATE_FINISHED',       'count',   'Số hồ sơ giải quyết quá hạn',                         'Finished late'),
    ('LATE_NO_APOLOGY',     'count',   'Số hồ sơ quá hạn không có phiếu xin lỗi',             'Late without an apology slip'),
    ('NO_DUE_DATE',         'count',   'Số hồ sơ không có ngày hẹn trả',                      'Finished without a promised date'),
    ('ON_TIME_766',         'ratio',   'Chỉ số tiến độ giải quyết (766)',                     'Progress (766 item 2.1)'),
    ('AVG_WORKING_DAYS',    'average', 'Thời gian giải quyết trung bình (ngày làm việc)',     'Mean processing time, working days'),
    ('ONLINE_SHARE',        'ratio',   'Tỷ lệ hồ sơ trực tuyến',                              'Received online'),
    ('FULL_ONLINE_SHARE',   'ratio',   'Tỷ lệ hồ sơ trực tuyến toàn trình',                   'Received online, fully online procedures'),
    ('ONLINE_PAYMENT',      'ratio',   'Tỷ lệ thanh toán trực tuyến',                         'Paid online'),
    ('TTHC_WITH_FEE_DATA',  'ratio',   'Tỷ lệ TTHC có phí phát sinh hồ sơ có thu phí',        'Fee procedures with fee data'),
    ('TTHC_PAID_ONLINE',    'ratio',   'Tỷ lệ TTHC có thanh toán trực tuyến',                 'Procedures paid online'),
    ('RESULT_DIGITIZED',    'ratio',   'Tỷ lệ kết quả giải quyết TTHC được số hóa',           'Results digitized'),
    ('E_RESULT',            'ratio',   'Tỷ lệ cấp kết quả điện tử',                           'Electronic results'),
    ('COMPONENT_DIGITIZED', 'ratio',   'Tỷ lệ số hóa thành phần hồ sơ',                       'Components digitized'),
    ('REUSE',               'ratio',   'Tỷ lệ tái sử dụng dữ liệu số hóa',                    'Digitized data reused'),
    ('CITIZEN_STORE',       'ratio',   'Tỷ lệ sử dụng kho dữ liệu công dân',                  'Citizen data store used'),
    ('VNEID',               'ratio',   'Tỷ lệ tài khoản xác thực VNeID',                      'VNeID-verified accounts'),
    ('E_CERT_COPY',         'ratio',   'Tỷ lệ xã cung cấp chứng thực bản sao điện tử',        'Communes offering e-certified copies'),
    ('SYNC_RATE',           'ratio',   'Tỷ lệ đồng bộ hồ sơ lên Cổng DVCQG',                  'Synchronized to the national portal'),
    ('PAKN_ON_TIME',        'ratio',   'Tỷ lệ xử lý phản ánh kiến nghị đúng hạn',             'Feedback handled on time'),
    ('PAKN_SATISFACTION',   'ratio',   'Tỷ lệ hài lòng về xử lý phản ánh kiến nghị',          'Satisfied with feedback handling'),
    ('DOSSIER_SATISFACTION','ratio',   'Tỷ lệ hài lòng về giải quyết hồ sơ',                  'Satisfied with dossier handling');

CREATE TABLE mart.indicator_value (
    period_type    text    NOT NULL CHECK (period_type IN ('month', 'quarter', 'half', 'year')),
    period_start   date    NOT NULL,
    unit_code      text    NOT NULL,
    unit_scheme    text    NOT NULL CHECK (unit_scheme IN ('as_recorded', 'current')),
    indicator_code text    NOT NULL REFERENCES mart.indicator,
    numerator      numeric,
    denominator    numeric,
    ratio          numeric,
    score          numeric,
    max_score      numeric,
    rule_version   text,
    computed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (period_type, period_start, unit_code, unit_scheme, indicator_code)
);

-- Decision 766 scoring as data: groups, items, points, thresholds and rating bands live in tables
-- with validity dates (the portal has changed its rules before); mart.score_indicator applies them.
CREATE TABLE mart.score_group (
    group_code  text    PRIMARY KEY,
    group_no    integer NOT NULL UNIQUE,
    max_points  numeric NOT NULL,
    label_vi    text    NOT NULL,
    label_en    text    NOT NULL
);

INSERT INTO mart.score_group (group_code, group_no, max_points, label_vi, label_en) VALUES
    ('transparency',   1, 18, 'Công khai, minh bạch',            'Transparency'),
    ('progress',       2, 20, 'Tiến độ giải quyết',              'Progress'),
    ('online_service', 3, 12, 'Dịch vụ công trực tuyến',         'Online services'),
    ('online_payment', 4, 10, 'Thanh toán trực tuyến',           'Online payment'),
    ('digitization',   5, 22, 'Số hóa hồ sơ',                    'Digitization'),
    ('satisfaction',   6, 18, 'Mức độ hài lòng',                 'Satisfaction');

-- One row per 766 item and validity span. An item the export cannot measure keeps its points in
-- the table (so the group's maximum stays 100 in total) with rule_kind 'not_scored' and a reason.
CREATE TABLE mart.scoring_rule (
    rule_version      text    NOT NULL,
    item_code         text    NOT NULL,
    group_code        text    NOT NULL REFERENCES mart.score_group,
    indicator_code    text    REFERENCES mart.indicator,
    max_points        numeric NOT NULL CHECK (max_points > 0),
    rule_kind         text    NOT NULL CHECK (rule_kind IN ('linear', 'full_at', 'not_scored')),
    threshold         numeric CHECK (threshold > 0 AND threshold <= 1),
    full_when_empty   boolean NOT NULL DEFAULT false,   -- PAKN items: full points when there is no PAKN
    not_scored_reason text,
    valid_from        date    NOT NULL,
    valid_to          date,                            -- exclusive; NULL = still in force
    source            text    NOT NULL,
    PRIMARY KEY (item_code, valid_from),
    CHECK ((rule_kind = 'full_at') = (threshold IS NOT NULL)),
    CHECK ((rule_kind = 'not_scored') = (indicator_code IS NULL)),
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX scoring_rule_indicator_idx ON mart.scoring_rule (indicator_code, valid_from);

INSERT INTO mart.scoring_rule (rule_version, item_code, group_code, indicator_code, max_points, rule_kind,
                               threshold, full_when_empty, not_scored_reason, valid_from, source) VALUES
    ('766-2022', '1.1-1.3', 'transparency', NULL, 12, 'not_scored', NULL, false,
     'Công khai TTHC (mục 1.1–1.3): dữ liệu xuất không có thông tin công bố, công khai thủ tục',
     '2022-06-23', 'QĐ 766/QĐ-TTg; indicators.md'),
    ('766-2022', '1.4',   'transparency',   'SYNC_RATE',            6,  'linear',  NULL, false, NULL, '2022-06-23', 'QĐ 766/QĐ-TTg; indicators.md'),
    ('766-2022', '2.1',   'progress',       'ON_TIME_766',          20, 'linear',  NULL, false, NULL, '2022-06-23', 'QĐ 766/QĐ-TTg; indicators.md'),
    ('766-2022', '3.1',   'online_service', 'FULL_ONLINE_SHARE',    12, 'full_at', 0.5,  false, NULL, '2022-06-23', 'QĐ 766/QĐ-TTg; indicators.md'),
    ('766-2022', '3.5a',  'online_payment', 'TTHC_WITH_FEE_DATA',   2,  'full_at', 0.8,  false, NULL, '2022-06-23', 'QĐ 766/QĐ-TTg; indicators.md'),
    ('766-2022', '3.5b',  'online_payment', 'TTHC_PAID_ONLINE',     2,  'full_at', 0.8,  false, NULL, '2022-06-23', 'QĐ 766/QĐ-TTg; indicators.md'),
    ('766-2022', '3.6',   'online_payment', 'ONLINE_PAYMENT',       6,  'linear',  NULL, false, NULL, '2022-06-23', 'QĐ 766/QĐ-TTg; indicators.md'),
    ('766-2022', '4.1',   'digitization',   'E_RESULT',             6,  'linear',  NULL, false, NULL, '2022-06-23', 'QĐ 766/QĐ-TTg; indicators.md'),
    ('766-2022', '4.2',   'digitization',   'COMPONENT_DIGITIZED',  4,  'linear',  NULL, false, NULL, '2022-06-23', 'QĐ 766/QĐ-TTg; indicators.md'),
    ('766-2022', '4.3',   'digitization',   'REUSE',                2,  'full_at', 0.8,  false, NULL, '2022-06-23', 'QĐ 766/QĐ-TTg; indicators.md'),
    ('766-2022', '4.4',   'digitization',   'CITIZEN_STORE',        4,  'linear',  NULL, false, NULL, '2022-06-23', 'QĐ 766/QĐ-TTg; indicators.md'),
    ('766-2022', '4.5',   'digitization',   'VNEID',                2,  'linear',  NULL, false, NULL, '2022-06-23', 'QĐ 766/QĐ-TTg; indicators.md'),
    ('766-2022', '4.6',   'digitization',   'E_CERT_COPY',          2,  'linear',  NULL, false, NULL, '2022-06-23', 'QĐ 766/QĐ-TTg; indicators.md'),
    ('766-2022', '4.x',   'digitization',   NULL,                   2,  'not_scored', NULL, false,
     'Nhóm số hóa có 22 điểm nhưng indicators.md chỉ định nghĩa các mục 4.1–4.6 (20 điểm): 2 điểm còn lại chưa có định nghĩa',
     '2022-06-23', 'indicators.md (group total vs. items)'),
    ('766-2022', '5.2',   'satisfaction',   'PAKN_ON_TIME',         6,  'linear',  NULL, true,  NULL, '2022-06-23', 'QĐ 766/QĐ-TTg; indicators.md'),
    ('766-2022', '5.3',   'satisfaction',   'PAKN_SATISFACTION',    6,  'linear',  NULL, true,  NULL, '2022-06-23', 'QĐ 766/QĐ-TTg; indicators.md'),
    ('766-2022', '5.4',   'satisfaction',   'DOSSIER_SATISFACTION', 6,  'full_at', 0.9,  false, NULL, '2022-06-23', 'QĐ 766/QĐ-TTg; indicators.md');

-- Rating bands are not published nationally: configurable, on the share of the points that could
-- be scored (total_score / max_available), so unscorable items do not push every unit down.
CREATE TABLE mart.rating_band (
    band_code  text    NOT NULL,
    min_share  numeric NOT NULL CHECK (min_share >= 0 AND min_share <= 1),
    label_vi   text    NOT NULL,
    label_en   text    NOT NULL,
    valid_from date    NOT NULL,
    valid_to   date,
    PRIMARY KEY (band_code, valid_from)
);

INSERT INTO mart.rating_band (band_code, min_share, label_vi, label_en, valid_from) VALUES
    ('excellent', 0.90, 'Xuất sắc',   'Excellent', '2022-06-23'),
    ('good',      0.80, 'Tốt',        'Good',      '2022-06-23'),
    ('fair',      0.65, 'Khá',        'Fair',      '2022-06-23'),
    ('average',   0.50, 'Trung bình', 'Average',   '2022-06-23'),
    ('weak',      0.00, 'Yếu',        'Weak',      '2022-06-23');

-- How an indicator is aggregated over time and the unit tree: 'sum' = numerators and
-- denominators of months and descendants add up; 'per_period' = judged at the period's end or
-- counted distinct over the whole period (never summed from months).
CREATE TABLE mart.indicator_method (
    indicator_code text PRIMARY KEY REFERENCES mart.indicator,
    rollup         text NOT NULL CHECK (rollup IN ('sum', 'per_period')),
    note           text NOT NULL
);
INSERT INTO mart.indicator_method (indicator_code, rollup, note) VALUES
    ('RECEIVED', 'sum', 'count'), ('FINISHED', 'sum', 'count'),
    ('ON_TIME_FINISHED', 'sum', 'ratio of counts'), ('LATE_FINISHED', 'sum', 'count'),
    ('LATE_NO_APOLOGY', 'sum', 'count'), ('NO_DUE_DATE', 'sum', 'count'),
    ('ON_TIME_766', 'per_period', 'open dossiers are judged at the period''s end'),
    ('AVG_WORKING_DAYS', 'sum', 'numerator = total working days, denominator = dossiers measured'),
    ('ONLINE_SHARE', 'sum', 'ratio of counts'), ('FULL_ONLINE_SHARE', 'sum', 'ratio of counts'),
    ('ONLINE_PAYMENT', 'sum', 'ratio of counts'),
    ('TTHC_WITH_FEE_DATA', 'per_period', 'distinct procedures over the period and the units below'),
    ('TTHC_PAID_ONLINE', 'per_period', 'distinct procedures over the period and the units below'),
    ('RESULT_DIGITIZED', 'sum', 'ratio of counts'), ('E_RESULT', 'sum', 'ratio of counts'),
    ('COMPONENT_DIGITIZED', 'sum', 'ratio of counts'), ('REUSE', 'sum', 'ratio of counts'),
    ('CITIZEN_STORE', 'sum', 'ratio of counts'), ('VNEID', 'sum', 'ratio of counts'),
    ('E_CERT_COPY', 'per_period', 'distinct communes offering the service over the period'),
    ('SYNC_RATE', 'sum', 'ratio of counts'),
    ('PAKN_ON_TIME', 'per_period', 'open PAKN are judged at the period''s end'),
    ('PAKN_SATISFACTION', 'per_period', 'open PAKN are judged at the period''s end'),
    ('DOSSIER_SATISFACTION', 'sum', 'ratio of counts');

-- Item 4.6: the electronic certified-copy procedures (chứng thực bản sao điện tử từ bản chính).
-- Configuration, not code: the national catalogue codes of that procedure family.
CREATE TABLE mart.e_cert_procedure (
    procedure_code text PRIMARY KEY,
    note           text NOT NULL
);
INSERT INTO mart.e_cert_procedure (procedure_code, note) VALUES
    ('2.007652', 'Chứng thực bản sao điện tử từ bản chính giấy tờ do cơ quan có thẩm quyền của Việt Nam cấp (cấp xã)'),
    ('2.003794', 'Chứng thực bản sao điện tử từ bản chính giấy tờ do cơ quan có thẩm quyền của Việt Nam cấp'),
    ('1.000387', 'Chứng thực bản sao điện tử từ bản chính giấy tờ do cơ quan có thẩm quyền của nước ngoài cấp');

-- A dissolved unit with several successors is attributed, in the 'current' scheme, to ONE unit so
-- that counts never double. Rows here name the main successor explicitly (e.g. the commune that
-- took most of the old territory); without a row the rule of mart.unit_attribution applies.
CREATE TABLE mart.lineage_main (
    predecessor_code text PRIMARY KEY,
    successor_code   text NOT NULL,
    note             text
);

-- Monthly leaf aggregates, per unit as recorded: the additive numerators/denominators (and the
-- finished-in-month part of ON_TIME_766, and per-commune e-certified-copy counts). A refresh
-- recomputes only the months it touches and builds quarters, halves and years from these rows.
CREATE TABLE mart.agg_unit_month (
    month          date    NOT NULL,
    unit_code      text    NOT NULL,
    indicator_code text    NOT NULL,
    numerator      numeric NOT NULL,
    denominator    numeric,
    PRIMARY KEY (month, unit_code, indicator_code)
);

-- Per unit, month and procedure, for the distinct-procedure items (3.5).
CREATE TABLE mart.agg_unit_month_procedure (
    month            date    NOT NULL,
    unit_code        text    NOT NULL,
    procedure_code   text    NOT NULL,
    fee_procedure    boolean NOT NULL,   -- the procedure has CoPhiLePhi
    with_fee_line    boolean NOT NULL,   -- a dossier received with a fee line Gia > 0
    paid_online      boolean NOT NULL,   -- a dossier received paid online (1 or 2)
    PRIMARY KEY (month, unit_code, procedure_code)
);

-- Months whose leaf rows exist, so a refresh of one month can complete its quarter/half/year.
CREATE TABLE mart.agg_month_log (
    month       date PRIMARY KEY,
    computed_at timestamptz NOT NULL DEFAULT now()
);

-- Lever labels for the road to a better rank: what "one more" means for each scored indicator.
CREATE TABLE mart.improvement_lever (
    indicator_code text    PRIMARY KEY REFERENCES mart.indicator,
    lever_vi       text    NOT NULL,   -- read after a number: "12 hồ sơ thanh toán trực tuyến thêm"
    lever_en       text    NOT NULL,
    is_dossier     boolean NOT NULL    -- counted in dossiers (part of the cheapest combination)
);
INSERT INTO mart.improvement_lever (indicator_code, lever_vi, lever_en, is_dossier) VALUES
    ('ON_TIME_766',          'hồ sơ trễ hạn ít hơn',                          'fewer late dossiers', true),
    ('FULL_ONLINE_SHARE',    'hồ sơ nộp trực tuyến thêm (TTHC toàn trình)',   'more online dossiers (fully online procedures)', true),
    ('ONLINE_PAYMENT',       'hồ sơ thanh toán trực tuyến thêm',              'more dossiers paid online', true),
    ('TTHC_WITH_FEE_DATA',   'TTHC có phí có hồ sơ thu phí thêm',             'more fee procedures with fee data', false),
    ('TTHC_PAID_ONLINE',     'TTHC có thanh toán trực tuyến thêm',            'more procedures paid online', false),
    ('E_RESULT',             'hồ sơ có kết quả điện tử thêm',                 'more dossiers with an electronic result', true),
    ('COMPONENT_DIGITIZED',  'hồ sơ có thành phần số hóa thêm',               'more dossiers with digitized components', true),
    ('REUSE',                'hồ sơ tái sử dụng dữ liệu số hóa thêm',         'more dossiers reusing digitized data', true),
    ('CITIZEN_STORE',        'hồ sơ lấy từ kho dữ liệu công dân thêm',        'more dossiers using the citizen store', true),
    ('VNEID',                'hồ sơ xác thực VNeID thêm',                     'more VNeID-verified dossiers', true),
    ('E_CERT_COPY',          'xã cung cấp chứng thực bản sao điện tử thêm',   'more communes offering e-certified copies', false),
    ('SYNC_RATE',            'hồ sơ đồng bộ lên Cổng DVCQG thêm',             'more dossiers synchronized', true),
    ('PAKN_ON_TIME',         'PAKN xử lý đúng hạn thêm',                      'more PAKN handled on time', false),
    ('PAKN_SATISFACTION',    'PAKN được hài lòng thêm',                       'more satisfied PAKN', false),
    ('DOSSIER_SATISFACTION', 'hồ sơ không hài lòng ít hơn',                   'fewer unsatisfactory dossiers', true);

-- The 766 scorecard per unit, period and scheme, and the road to a better rank.
CREATE TABLE mart.score_766 (
    period_type           text    NOT NULL CHECK (period_type IN ('month', 'quarter', 'half', 'year')),
    period_start          date    NOT NULL,
    unit_code             text    NOT NULL,
    unit_scheme           text    NOT NULL CHECK (unit_scheme IN ('as_recorded', 'current')),
    unit_type             text    NOT NULL,
    parent_code           text,
    transparency_score    numeric,            -- only item 1.4 (SYNC_RATE) can be scored
    progress_score        numeric,
    online_service_score  numeric,
    online_payment_score  numeric,
    digitization_score    numeric,
    satisfaction_score    numeric,
    total_score           numeric NOT NULL,
    max_score             numeric NOT NULL,   -- 100: every item, scored or not
    max_available         numeric NOT NULL,   -- the points of the items that could be scored
    score_share           numeric,            -- total_score / max_available
    not_scored            text,               -- items left out, with their points and reason
    rank_in_level         integer NOT NULL,
    units_in_level        integer NOT NULL,
    band_code             text,
    rule_version          text,
    computed_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (period_type, period_start, unit_code, unit_scheme)
);

CREATE TABLE mart.rank_gap (
    period_type        text    NOT NULL,
    period_start       date    NOT NULL,
    unit_code          text    NOT NULL,
    unit_scheme        text    NOT NULL,
    indicator_code     text    NOT NULL,
    item_code          text    NOT NULL,
    numerator          numeric,
    denominator        numeric,
    score              numeric,
    max_score          numeric,
    points_lost        numeric,            -- max_score - score
    total_score        numeric,
    rank_in_level      integer,
    units_in_level     integer,
    next_rank          integer,            -- the rank of the unit(s) just above; NULL when first
    next_units         text,               -- their codes
    gap_points         numeric,            -- points to reach the unit(s) just above
    points_per_extra   numeric,            -- points one more dossier/procedure/commune/PAKN earns
    extra_needed_alone integer,            -- if this indicator alone closed the gap; NULL = it cannot
    extra_in_plan      integer,            -- share of the cheapest dossier-only combination
    computed_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (period_type, period_start, unit_code, unit_scheme, indicator_code)
);

-- Unit types as BI tools show them.
CREATE TABLE mart.unit_type_label (
    unit_type text PRIMARY KEY,
    label_vi  text NOT NULL,
    plural_vi text NOT NULL
);
INSERT INTO mart.unit_type_label (unit_type, label_vi, plural_vi) VALUES
    ('TINH', 'Tỉnh', 'tỉnh'), ('SO_NGANH', 'Sở, ban, ngành', 'sở, ngành'),
    ('HUYEN', 'Huyện', 'huyện'), ('PHONG_HUYEN', 'Phòng cấp huyện', 'phòng'),
    ('XA', 'Xã', 'xã');

-- Which loaded batches a refresh of the indicators has covered. An asset-triggered refresh also
-- covers every loaded batch no refresh has covered yet: asset events that arrive within
-- milliseconds of each other can be lost by the scheduler (apache/airflow#56050 and related),
-- and without this their windows would stay stale until some later load.
CREATE TABLE mart.refreshed_batch (
    batch_id     bigint      PRIMARY KEY,
    refreshed_at timestamptz NOT NULL DEFAULT now()
);

-- What BI tools show of the base tables (the views' own comments are with the views).
COMMENT ON TABLE mart.indicator_value IS 'Giá trị chỉ số theo kỳ, đơn vị, phương án đơn vị (bảng gốc; xem mart.bi_indicator)';
COMMENT ON TABLE mart.score_766 IS 'Bảng điểm 766 theo kỳ và đơn vị (bảng gốc; xem mart.bi_scorecard)';
COMMENT ON TABLE mart.rank_gap IS 'Khoảng cách tới đơn vị xếp trên theo từng chỉ số (bảng gốc; xem mart.bi_rank_gap)';
COMMENT ON TABLE mart.indicator IS 'Danh mục chỉ số với nhãn tiếng Việt';
COMMENT ON TABLE mart.scoring_rule IS 'Quy tắc chấm điểm Bộ chỉ số 766 (mục, điểm tối đa, ngưỡng) theo thời gian hiệu lực';
COMMENT ON TABLE mart.rating_band IS 'Bảng xếp loại (cấu hình): ngưỡng tỷ lệ điểm đạt được trên điểm có thể chấm';
COMMENT ON TABLE mart.score_group IS 'Sáu nhóm chỉ số của Bộ chỉ số 766 và điểm tối đa';
