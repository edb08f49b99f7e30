-- The gap between the national portal's published scores and the province's own (docs/portal.md,
-- "The gap"), for BI tools and the unit report: mart.bi_portal_gap per item, mart.bi_portal_summary
-- per unit and period, mart.unsynced_dossiers the dossiers behind a unit's gap. Unit names come
-- from core.dim_unit (this file is applied before R__mart_views.sql, which makes mart.unit); the
-- views run with their owner's rights, so bi_reader reads them without reading core.

CREATE OR REPLACE VIEW mart.bi_portal_gap AS
SELECT
    g.period_type,
    g.period_start,
    mart.period_label(g.period_type, g.period_start) AS period_label,
    g.unit_code,
    g.unit_scheme,
    u.unit_name,
    g.item_code,
    g.indicator_code,
    i.label_vi AS item_label,
    g.portal_score AS "Điểm Cổng DVCQG công bố",  -- noqa: RF05
    g.own_score AS "Điểm theo dữ liệu của tỉnh",  -- noqa: RF05
    g.own_synced_score AS "Điểm nếu chỉ tính hồ sơ đã đồng bộ",  -- noqa: RF05
    g.unsynced_dossiers AS "Số hồ sơ chưa đồng bộ",  -- noqa: RF05
    g.explained AS "Giải thích được bằng đồng bộ",  -- noqa: RF05
    g.points_from_sync,
    g.points_not_explained,
    g.own_numerator,
    g.own_denominator,
    g.own_synced_numerator,
    g.own_synced_denominator,
    g.portal_numerator,
    g.portal_denominator,
    g.computed_at
FROM mart.portal_gap AS g
LEFT JOIN core.dim_unit AS u ON g.unit_code = u.unit_code AND u.row_valid_to IS NULL
LEFT JOIN mart.indicator AS i ON g.indicator_code = i.indicator_code;

COMMENT ON VIEW mart.bi_portal_gap IS
'Chênh lệch điểm Cổng DVCQG công bố và điểm theo dữ liệu của tỉnh, theo kỳ, đơn vị và mục chỉ số';
COMMENT ON COLUMN mart.bi_portal_gap.period_label IS 'Kỳ';
COMMENT ON COLUMN mart.bi_portal_gap.unit_name IS 'Đơn vị';
COMMENT ON COLUMN mart.bi_portal_gap.item_label IS 'Chỉ số';
COMMENT ON COLUMN mart.bi_portal_gap.points_from_sync IS 'Điểm tăng thêm nếu đồng bộ đủ hồ sơ';
COMMENT ON COLUMN mart.bi_portal_gap.points_not_explained IS 'Điểm chênh lệch không do đồng bộ';

-- Per unit and period: the portal's published total, the own total (all dossiers) and the total
-- over the synchronized dossiers only, each the sum of the items' scores (the published total as
-- published). points_from_sync = own_total - own_synced_total; points_not_explained =
-- own_synced_total - portal_total; explained = every published item explained.
CREATE OR REPLACE VIEW mart.bi_portal_summary AS
WITH unit_gap AS (
    SELECT
        period_type,
        period_start,
        unit_code,
        unit_scheme,
        sum(own_score) AS own_total,
        sum(own_synced_score) AS own_synced_total,
        max(unsynced_dossiers) AS unsynced_dossiers,
        bool_and(explained) AS explained
    FROM mart.portal_gap
    GROUP BY period_type, period_start, unit_code, unit_scheme
)

SELECT
    g.period_type,
    g.period_start,
    g.unit_code,
    g.unit_scheme,
    u.unit_name,
    s.total_score AS portal_total,
    g.own_total,
    g.own_synced_total,
    g.own_total - g.own_synced_total AS points_from_sync,
    g.own_synced_total - s.total_score AS points_not_explained,
    g.unsynced_dossiers,
    g.explained
FROM unit_gap AS g
LEFT JOIN mart.portal_score_current AS s
    ON g.period_type = s.period_type AND g.period_start = s.period_start AND g.unit_code = s.unit_code
LEFT JOIN core.dim_unit AS u ON g.unit_code = u.unit_code AND u.row_valid_to IS NULL;

COMMENT ON VIEW mart.bi_portal_summary IS
'Tổng điểm Cổng DVCQG công bố, tổng điểm theo dữ liệu của tỉnh và nếu chỉ tính hồ sơ đã đồng bộ, theo kỳ và đơn vị';
COMMENT ON COLUMN mart.bi_portal_summary.unit_name IS 'Đơn vị';
COMMENT ON COLUMN mart.bi_portal_summary.portal_total IS 'Điểm Cổng DVCQG công bố';
COMMENT ON COLUMN mart.bi_portal_summary.own_total IS 'Điểm theo dữ liệu của tỉnh';
COMMENT ON COLUMN mart.bi_portal_summary.own_synced_total IS 'Điểm nếu chỉ tính hồ sơ đã đồng bộ';
COMMENT ON COLUMN mart.bi_portal_summary.points_from_sync IS 'Điểm tăng thêm nếu đồng bộ đủ hồ sơ';
COMMENT ON COLUMN mart.bi_portal_summary.points_not_explained IS 'Điểm chênh lệch không do đồng bộ';
COMMENT ON COLUMN mart.bi_portal_summary.unsynced_dossiers IS 'Số hồ sơ chưa đồng bộ';
COMMENT ON COLUMN mart.bi_portal_summary.explained IS 'Giải thích được bằng đồng bộ';

-- The dossiers behind a unit's gap: received in the period (D, docs/indicators.md) by the unit or a
-- unit below it (competent unit, as recorded), not synchronized to the portal. Runs as its owner,
-- so BI roles and the report call it without reading core.
CREATE OR REPLACE FUNCTION mart.unsynced_dossiers(unit_code text, period_type text, period_start date)
RETURNS TABLE (
    ma_ho_so text,
    procedure_code text,
    procedure_name text,
    received_at timestamptz,
    channel smallint,
    paid_online boolean,
    competent_unit_code text,
    competent_unit_name text
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT
        d.ma_ho_so, d.procedure_code, p.procedure_name, d.received_at, d.channel,
        d.online_payment IN (1, 2), d.competent_unit_code, u.unit_name
    FROM core.unit_closure AS c
    INNER JOIN core.fact_dossier AS d ON d.competent_unit_code = c.descendant_code
    LEFT JOIN core.dim_procedure AS p
        ON p.source_id = d.source_id AND p.procedure_code = d.procedure_code AND p.row_valid_to IS NULL
    LEFT JOIN core.dim_unit AS u ON u.unit_code = d.competent_unit_code AND u.row_valid_to IS NULL
    WHERE c.ancestor_code = $1
        AND d.received_at >= $3::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
        AND d.received_at < ($3 + CASE $2
            WHEN 'year' THEN interval '1 year'
            WHEN 'half' THEN interval '6 months'
            WHEN 'quarter' THEN interval '3 months'
            WHEN 'month' THEN interval '1 month'
        END)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
        AND d.status NOT IN (1, 3)
        AND NOT d.synced_to_portal
    ORDER BY d.received_at, d.ma_ho_so
$$;

COMMENT ON FUNCTION mart.unsynced_dossiers(text, text, date) IS
'Hồ sơ tiếp nhận trong kỳ của đơn vị (và đơn vị trực thuộc) chưa đồng bộ lên Cổng DVCQG';

GRANT EXECUTE ON FUNCTION mart.unsynced_dossiers(text, text, date) TO bi_reader;
