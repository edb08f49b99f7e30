-- Decision 766 scoring as data: groups, items, points, thresholds and rating bands live in tables
-- with validity dates (the portal has changed its rules before), and one function applies them.

CREATE TABLE IF NOT EXISTS mart.score_group (
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
    ('satisfaction',   6, 18, 'Mức độ hài lòng',                 'Satisfaction')
ON CONFLICT (group_code) DO UPDATE
SET group_no = EXCLUDED.group_no, max_points = EXCLUDED.max_points,
    label_vi = EXCLUDED.label_vi, label_en = EXCLUDED.label_en;

-- One row per 766 item and validity span. An item the export cannot measure keeps its points in
-- the table (so the group's maximum stays 100 in total) with rule_kind 'not_scored' and a reason.
CREATE TABLE IF NOT EXISTS mart.scoring_rule (
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
CREATE INDEX IF NOT EXISTS scoring_rule_indicator_idx ON mart.scoring_rule (indicator_code, valid_from);

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
    ('766-2022', '5.4',   'satisfaction',   'DOSSIER_SATISFACTION', 6,  'full_at', 0.9,  false, NULL, '2022-06-23', 'QĐ 766/QĐ-TTg; indicators.md')
ON CONFLICT (item_code, valid_from) DO UPDATE
SET rule_version = EXCLUDED.rule_version, group_code = EXCLUDED.group_code,
    indicator_code = EXCLUDED.indicator_code, max_points = EXCLUDED.max_points,
    rule_kind = EXCLUDED.rule_kind, threshold = EXCLUDED.threshold,
    full_when_empty = EXCLUDED.full_when_empty, not_scored_reason = EXCLUDED.not_scored_reason,
    source = EXCLUDED.source;

-- Rating bands are not published nationally: configurable, on the share of the points that could
-- be scored (total_score / max_available), so unscorable items do not push every unit down.
CREATE TABLE IF NOT EXISTS mart.rating_band (
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
    ('weak',      0.00, 'Yếu',        'Weak',      '2022-06-23')
ON CONFLICT (band_code, valid_from) DO UPDATE
SET min_share = EXCLUDED.min_share, label_vi = EXCLUDED.label_vi, label_en = EXCLUDED.label_en;

-- The formula alone, inlinable in set-based refreshes. Scores are published with two decimals.
-- linear: max x ratio; full_at X: min(max, max x ratio / X); no denominator: full points for the
-- items that say so (PAKN), else 0.
CREATE OR REPLACE FUNCTION mart.apply_scoring_rule(rule_kind text, max_points numeric, threshold numeric,
                                                   full_when_empty boolean, numerator numeric,
                                                   denominator numeric)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN rule_kind IS NULL OR rule_kind = 'not_scored' THEN NULL
        WHEN coalesce(denominator, 0) = 0 THEN CASE WHEN full_when_empty THEN max_points ELSE 0 END
        WHEN rule_kind = 'linear' THEN round(max_points * numerator / denominator, 2)
        WHEN rule_kind = 'full_at' THEN round(least(max_points, max_points * numerator / denominator / threshold), 2)
    END
$$;

-- The one entry point: the rule in force on at_date for that indicator (NULL when none scores it).
CREATE OR REPLACE FUNCTION mart.score_indicator(indicator_code text, numerator numeric, denominator numeric,
                                               at_date date)
RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT mart.apply_scoring_rule(r.rule_kind, r.max_points, r.threshold, r.full_when_empty,
                                   score_indicator.numerator, score_indicator.denominator)
    FROM mart.scoring_rule AS r
    WHERE r.indicator_code = score_indicator.indicator_code
      AND r.valid_from <= at_date AND (r.valid_to IS NULL OR r.valid_to > at_date)
$$;

COMMENT ON TABLE mart.scoring_rule IS 'Quy tắc chấm điểm Bộ chỉ số 766 (mục, điểm tối đa, ngưỡng) theo thời gian hiệu lực';
COMMENT ON TABLE mart.rating_band IS 'Bảng xếp loại (cấu hình): ngưỡng tỷ lệ điểm đạt được trên điểm có thể chấm';
COMMENT ON TABLE mart.score_group IS 'Sáu nhóm chỉ số của Bộ chỉ số 766 và điểm tối đa';
COMMENT ON FUNCTION mart.score_indicator(text, numeric, numeric, date) IS
    'Điểm 766 của một chỉ số theo quy tắc có hiệu lực tại ngày at_date (làm tròn 2 chữ số)';
