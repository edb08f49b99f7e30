-- What the national portal (Cổng DVCQG) publishes about the province, as published, with the time
-- it was fetched (docs/portal.md), and the configuration that reads it: the portal's groups and
-- items mapped to the project's groups and indicators, with validity dates like mart.scoring_rule.
-- The views of the current values: marts/views/R__mart_portal.sql; the writes:
-- marts/portal_merge_score.sql and marts/portal_merge_metric.sql (tthc.portal).
--
-- History: each row is one published version of one key, valid from fetched_at (the fetch that
-- first saw it) until superseded_at (the fetch that saw it change or vanish; NULL = what the
-- portal publishes now). A refetch that finds the same numbers writes nothing; one that finds
-- another number closes the current row and adds the new one; an item or unit the portal stopped
-- publishing has its row closed and none added. At most one current row per key (the partial
-- unique indexes), so "what the portal shows now" is one index lookup, and "what it showed on day
-- d" is fetched_at <= d < coalesce(superseded_at, 'infinity').

-- One row per unit of the subtree, period and published version: the total and the six groups.
-- A group the portal left out for a unit is NULL.
CREATE TABLE mart.portal_score (
    period_type text NOT NULL CHECK (period_type IN ('year', 'quarter', 'month')),
    period_start date NOT NULL,
    unit_code text NOT NULL,
    unit_name text,                      -- departmentName as the portal writes it
    transparency_score numeric,          -- CKMB
    progress_score numeric,              -- TDGQ
    online_service_score numeric,        -- CLGQ
    online_payment_score numeric,        -- TTTT
    digitization_score numeric,          -- MDSH
    satisfaction_score numeric,          -- MDHL
    total_score numeric,
    fetched_at timestamptz NOT NULL,
    superseded_at timestamptz,
    PRIMARY KEY (period_type, period_start, unit_code, fetched_at),
    CHECK (period_start = date_trunc(period_type, period_start::timestamp)::date),
    CHECK (superseded_at IS NULL OR superseded_at > fetched_at)
);
CREATE UNIQUE INDEX portal_score_current_idx ON mart.portal_score (period_type, period_start, unit_code)
WHERE superseded_at IS NULL;

-- One row per unit, period, item as the portal numbers it ('3.6', '4.5b') and published version.
-- An item the portal does not publish for a unit has no row; a field it leaves out is NULL.
CREATE TABLE mart.portal_metric (
    period_type text NOT NULL CHECK (period_type IN ('year', 'quarter', 'month')),
    period_start date NOT NULL,
    unit_code text NOT NULL,
    item_code text NOT NULL,
    portal_group text NOT NULL,          -- the group call that published it (CKMB, TDGQ, ...)
    ratio numeric,
    score numeric,
    max_score numeric,
    numerator numeric,
    denominator numeric,
    fetched_at timestamptz NOT NULL,
    superseded_at timestamptz,
    PRIMARY KEY (period_type, period_start, unit_code, item_code, fetched_at),
    CHECK (period_start = date_trunc(period_type, period_start::timestamp)::date),
    CHECK (superseded_at IS NULL OR superseded_at > fetched_at)
);
CREATE UNIQUE INDEX portal_metric_current_idx ON mart.portal_metric (
    period_type, period_start, unit_code, item_code
)
WHERE superseded_at IS NULL;

-- The portal's six groups: its code, the project's group (mart.score_group) and the path of the
-- call that publishes the group's items. The row in force on a period's first day is used.
CREATE TABLE mart.portal_group_map (
    portal_group text NOT NULL,
    group_code text NOT NULL REFERENCES mart.score_group,
    endpoint_path text NOT NULL,
    valid_from date NOT NULL,
    valid_to date,                       -- exclusive; NULL = still in force
    source text NOT NULL,
    PRIMARY KEY (portal_group, valid_from),
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
INSERT INTO mart.portal_group_map (portal_group, group_code, endpoint_path, valid_from, source) VALUES
('CKMB', 'transparency', '/api/v1/reporting/evaluation/transparency', '2022-06-23', 'portal-api.md'),
('TDGQ', 'progress', '/api/v1/reporting/evaluation/dvc-progress-tree', '2022-06-23', 'portal-api.md'),
('CLGQ', 'online_service', '/api/v1/reporting/evaluation/provide-online-tree', '2022-06-23', 'portal-api.md'),
(
    'TTTT', 'online_payment', '/api/v1/reporting/evaluation/formality-online-payment-tree', '2022-06-23',
    'portal-api.md'
),
('MDSH', 'digitization', '/api/v1/reporting/evaluation/dossier-digitized', '2022-06-23', 'portal-api.md'),
('MDHL', 'satisfaction', '/api/v1/reporting/evaluation/handling-satisfaction', '2022-06-23', 'portal-api.md');

-- The portal's item codes and the project's indicator and scoring item (mart.scoring_rule's
-- item_code: the portal writes '4.5b' where the project's rule is '4.5'). Items the portal
-- publishes without a row here are stored all the same; they have no indicator to compare with.
CREATE TABLE mart.portal_item_map (
    portal_item_code text NOT NULL,
    portal_group text NOT NULL,
    indicator_code text NOT NULL REFERENCES mart.indicator,
    scoring_item_code text NOT NULL,
    valid_from date NOT NULL,
    valid_to date,                       -- exclusive; NULL = still in force
    source text NOT NULL,
    PRIMARY KEY (portal_item_code, valid_from),
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
INSERT INTO mart.portal_item_map (
    portal_item_code, portal_group, indicator_code, scoring_item_code, valid_from, source
) VALUES
('1.4', 'CKMB', 'SYNC_RATE', '1.4', '2022-06-23', 'QĐ 766/QĐ-TTg; portal-api.md'),
('2.1', 'TDGQ', 'ON_TIME_766', '2.1', '2022-06-23', 'QĐ 766/QĐ-TTg; portal-api.md'),
('3.1', 'CLGQ', 'FULL_ONLINE_SHARE', '3.1', '2022-06-23', 'QĐ 766/QĐ-TTg; portal-api.md'),
('3.5a', 'TTTT', 'TTHC_WITH_FEE_DATA', '3.5a', '2022-06-23', 'QĐ 766/QĐ-TTg; portal-api.md'),
('3.5b', 'TTTT', 'TTHC_PAID_ONLINE', '3.5b', '2022-06-23', 'QĐ 766/QĐ-TTg; portal-api.md'),
('3.6', 'TTTT', 'ONLINE_PAYMENT', '3.6', '2022-06-23', 'QĐ 766/QĐ-TTg; portal-api.md'),
('4.1', 'MDSH', 'E_RESULT', '4.1', '2022-06-23', 'QĐ 766/QĐ-TTg; portal-api.md'),
('4.2', 'MDSH', 'COMPONENT_DIGITIZED', '4.2', '2022-06-23', 'QĐ 766/QĐ-TTg; portal-api.md'),
('4.3', 'MDSH', 'REUSE', '4.3', '2022-06-23', 'QĐ 766/QĐ-TTg; portal-api.md'),
('4.4', 'MDSH', 'CITIZEN_STORE', '4.4', '2022-06-23', 'QĐ 766/QĐ-TTg; portal-api.md'),
('4.5b', 'MDSH', 'VNEID', '4.5', '2022-06-23', 'QĐ 766/QĐ-TTg; portal-api.md'),
('4.6', 'MDSH', 'E_CERT_COPY', '4.6', '2022-06-23', 'QĐ 766/QĐ-TTg; portal-api.md'),
('5.2', 'MDHL', 'PAKN_ON_TIME', '5.2', '2022-06-23', 'QĐ 766/QĐ-TTg; portal-api.md'),
('5.3', 'MDHL', 'PAKN_SATISFACTION', '5.3', '2022-06-23', 'QĐ 766/QĐ-TTg; portal-api.md'),
('5.4', 'MDHL', 'DOSSIER_SATISFACTION', '5.4', '2022-06-23', 'QĐ 766/QĐ-TTg; portal-api.md');

COMMENT ON TABLE mart.portal_score IS
'Điểm Bộ chỉ số 766 do Cổng DVCQG công bố theo kỳ và đơn vị, giữ lịch sử (xem mart.portal_score_current)';
COMMENT ON TABLE mart.portal_metric IS
'Chỉ tiêu do Cổng DVCQG công bố theo kỳ, đơn vị và mục, giữ lịch sử (xem mart.portal_metric_current)';
COMMENT ON TABLE mart.portal_group_map IS 'Nhóm chỉ số của Cổng DVCQG và nhóm tương ứng của dự án (cấu hình)';
COMMENT ON TABLE mart.portal_item_map IS
'Mục chỉ số của Cổng DVCQG và chỉ số tương ứng của dự án, theo thời gian hiệu lực (cấu hình)';
