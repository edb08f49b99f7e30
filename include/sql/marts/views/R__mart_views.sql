-- The mart's views: the units as the 'current' scheme attributes them, what BI tools read (with
-- Vietnamese labels, docs/bi.md) and what the unit report reads. Views run with their owner's
-- rights, so bi_reader needs nothing outside mart. In dependency order.

-- Every unit (as recorded) -> the unit of today's tree that carries its history.
--   itself                       the unit still exists;
--   configured_main              mart.lineage_main names the successor;
--   single_successor             exactly one successor in core.unit_lineage;
--   first_successor_by_code      a commune split into several communes: the lowest successor code;
--   common_ancestor              a unit whose successors are of another type (a district or a
--                                district office -> many communes): the lowest unit of today above
--                                all of them (the province), so its dossiers stay in the province
--                                total but are not pinned on one commune;
--   nearest_current_ancestor     no successor known: the nearest unit above it that still exists.
CREATE OR REPLACE VIEW mart.unit_attribution AS
WITH unit AS (
    SELECT
        unit_code,
        unit_type,
        parent_code,
        (valid_to IS NULL OR valid_to >= current_date) AS is_current
    FROM core.dim_unit
    WHERE row_valid_to IS NULL
),

successor AS (
    SELECT
        lineage.predecessor_code,
        lineage.successor_code,
        heir.unit_type AS successor_type
    FROM core.unit_lineage AS lineage
    INNER JOIN unit AS heir ON heir.unit_code = lineage.successor_code AND heir.is_current
),

successor_summary AS (
    SELECT
        s.predecessor_code,
        count(*) AS successors,
        min(s.successor_code) AS first_successor,
        bool_and(s.successor_type = u.unit_type) AS same_type
    FROM successor AS s
    INNER JOIN unit AS u ON u.unit_code = s.predecessor_code
    GROUP BY s.predecessor_code
),

common_ancestor AS (
    SELECT DISTINCT ON (s.predecessor_code)
        s.predecessor_code,
        closure.ancestor_code
    FROM successor AS s
    INNER JOIN core.unit_closure AS closure ON closure.descendant_code = s.successor_code
    INNER JOIN successor_summary AS summary USING (predecessor_code)
    GROUP BY s.predecessor_code, closure.ancestor_code, summary.successors
    HAVING count(*) = summary.successors
    ORDER BY s.predecessor_code, max(closure.depth)
),

nearest_current AS (
    SELECT DISTINCT ON (closure.descendant_code)
        closure.descendant_code,
        closure.ancestor_code
    FROM core.unit_closure AS closure
    INNER JOIN unit AS above ON above.unit_code = closure.ancestor_code AND above.is_current
    ORDER BY closure.descendant_code, closure.depth
)

SELECT
    u.unit_code,
    CASE WHEN u.is_current THEN u.unit_code
        WHEN main.successor_code IS NOT NULL THEN main.successor_code
        WHEN summary.successors = 1 THEN summary.first_successor
        WHEN summary.same_type THEN summary.first_successor
        WHEN common.ancestor_code IS NOT NULL THEN common.ancestor_code
        ELSE nearest.ancestor_code
    END AS current_unit_code,
    CASE WHEN u.is_current THEN 'itself'
        WHEN main.successor_code IS NOT NULL THEN 'configured_main'
        WHEN summary.successors = 1 THEN 'single_successor'
        WHEN summary.same_type THEN 'first_successor_by_code'
        WHEN common.ancestor_code IS NOT NULL THEN 'common_ancestor'
        ELSE 'nearest_current_ancestor'
    END AS rule
FROM unit AS u
LEFT JOIN successor_summary AS summary ON summary.predecessor_code = u.unit_code
LEFT JOIN mart.lineage_main AS main
    ON main.predecessor_code = u.unit_code
        AND EXISTS (
            SELECT 1 FROM successor AS s
            WHERE s.predecessor_code = main.predecessor_code AND s.successor_code = main.successor_code
        )
LEFT JOIN common_ancestor AS common ON common.predecessor_code = u.unit_code
LEFT JOIN nearest_current AS nearest ON nearest.descendant_code = u.unit_code;

-- BI-ready views with Vietnamese labels: what Metabase / Superset / Power BI read.
CREATE OR REPLACE VIEW mart.unit AS
SELECT
    u.unit_code,
    u.unit_name,
    u.unit_type,
    t.label_vi AS unit_type_vi,
    u.parent_code,
    parent.unit_name AS parent_name,
    u.valid_from,
    u.valid_to,
    (u.valid_to IS NULL OR u.valid_to >= current_date) AS is_current,
    a.current_unit_code,
    a.rule AS attribution_rule
FROM core.dim_unit AS u
LEFT JOIN core.dim_unit AS parent ON parent.unit_code = u.parent_code AND parent.row_valid_to IS NULL
LEFT JOIN mart.unit_type_label AS t ON t.unit_type = u.unit_type
LEFT JOIN mart.unit_attribution AS a ON a.unit_code = u.unit_code
WHERE u.row_valid_to IS NULL;

COMMENT ON VIEW mart.unit IS 'Đơn vị (cấp tỉnh, sở ngành, huyện, phòng, xã) và đơn vị hiện nay kế thừa số liệu';
COMMENT ON COLUMN mart.unit.unit_code IS 'Mã đơn vị';
COMMENT ON COLUMN mart.unit.unit_name IS 'Tên đơn vị';
COMMENT ON COLUMN mart.unit.unit_type_vi IS 'Loại đơn vị';
COMMENT ON COLUMN mart.unit.parent_name IS 'Đơn vị cấp trên';
COMMENT ON COLUMN mart.unit.is_current IS 'Đơn vị còn hoạt động';
COMMENT ON COLUMN mart.unit.current_unit_code IS 'Đơn vị hiện nay nhận số liệu lịch sử (phương án current)';
COMMENT ON COLUMN mart.unit.attribution_rule IS 'Quy tắc quy đổi sang đơn vị hiện nay';

CREATE OR REPLACE VIEW mart.bi_indicator AS
SELECT
    v.period_type,
    v.period_start,
    mart.period_label(v.period_type, v.period_start) AS period_label,
    v.unit_scheme,
    v.unit_code,
    u.unit_name,
    u.unit_type_vi,
    u.parent_code,
    v.indicator_code,
    i.label_vi AS indicator_label,
    i.kind,
    v.numerator,
    v.denominator,
    v.ratio,
    round(100 * v.ratio, 2) AS ratio_pct,
    v.score,
    v.max_score,
    v.rule_version,
    v.computed_at
FROM mart.indicator_value AS v
INNER JOIN mart.indicator AS i USING (indicator_code)
LEFT JOIN mart.unit AS u USING (unit_code);

COMMENT ON VIEW mart.bi_indicator IS 'Giá trị các chỉ số theo đơn vị và kỳ (tháng, quý, 6 tháng, năm)';
COMMENT ON COLUMN mart.bi_indicator.period_type IS 'Loại kỳ (month, quarter, half, year)';
COMMENT ON COLUMN mart.bi_indicator.period_start IS 'Ngày đầu kỳ';
COMMENT ON COLUMN mart.bi_indicator.period_label IS 'Kỳ báo cáo';
COMMENT ON COLUMN mart.bi_indicator.unit_scheme IS
'Phương án đơn vị: as_recorded = theo đơn vị tại thời điểm tiếp nhận; current = quy đổi sang đơn vị hiện nay';
COMMENT ON COLUMN mart.bi_indicator.unit_code IS 'Mã đơn vị';
COMMENT ON COLUMN mart.bi_indicator.unit_name IS 'Tên đơn vị';
COMMENT ON COLUMN mart.bi_indicator.unit_type_vi IS 'Loại đơn vị';
COMMENT ON COLUMN mart.bi_indicator.indicator_code IS 'Mã chỉ số';
COMMENT ON COLUMN mart.bi_indicator.indicator_label IS 'Tên chỉ số';
COMMENT ON COLUMN mart.bi_indicator.numerator IS 'Tử số (hoặc giá trị đếm)';
COMMENT ON COLUMN mart.bi_indicator.denominator IS 'Mẫu số';
COMMENT ON COLUMN mart.bi_indicator.ratio IS 'Tỷ lệ (tử số / mẫu số)';
COMMENT ON COLUMN mart.bi_indicator.ratio_pct IS 'Tỷ lệ (%)';
COMMENT ON COLUMN mart.bi_indicator.score IS 'Điểm theo Bộ chỉ số 766';
COMMENT ON COLUMN mart.bi_indicator.max_score IS 'Điểm tối đa';

CREATE OR REPLACE VIEW mart.bi_scorecard AS
SELECT
    s.period_type,
    s.period_start,
    mart.period_label(s.period_type, s.period_start) AS period_label,
    s.unit_scheme,
    s.unit_code,
    u.unit_name,
    u.unit_type_vi,
    s.parent_code,
    u.parent_name,
    s.transparency_score,
    s.progress_score,
    s.online_service_score,
    s.online_payment_score,
    s.digitization_score,
    s.satisfaction_score,
    s.total_score,
    s.max_score,
    s.max_available,
    round(100 * s.score_share, 2) AS score_pct,
    s.rank_in_level,
    s.units_in_level,
    s.rank_in_level || '/' || s.units_in_level || ' ' || coalesce(t.plural_vi, s.unit_type) AS rank_label,
    b.label_vi AS band_label,
    s.not_scored,
    s.rule_version,
    s.computed_at
FROM mart.score_766 AS s
LEFT JOIN mart.unit AS u USING (unit_code)
LEFT JOIN mart.unit_type_label AS t ON t.unit_type = s.unit_type
LEFT JOIN
    LATERAL (
        SELECT label_vi FROM mart.rating_band AS rb
        WHERE rb.band_code = s.band_code
        ORDER BY rb.valid_from DESC LIMIT 1
    ) AS b
    ON TRUE;

COMMENT ON VIEW mart.bi_scorecard IS 'Bảng điểm Bộ chỉ số 766 và xếp hạng theo đơn vị, kỳ';
COMMENT ON COLUMN mart.bi_scorecard.period_label IS 'Kỳ đánh giá';
COMMENT ON COLUMN mart.bi_scorecard.unit_name IS 'Tên đơn vị';
COMMENT ON COLUMN mart.bi_scorecard.transparency_score IS 'Công khai, minh bạch (18 điểm; chỉ chấm được mục 1.4)';
COMMENT ON COLUMN mart.bi_scorecard.progress_score IS 'Tiến độ giải quyết (20 điểm)';
COMMENT ON COLUMN mart.bi_scorecard.online_service_score IS 'Dịch vụ công trực tuyến (12 điểm)';
COMMENT ON COLUMN mart.bi_scorecard.online_payment_score IS 'Thanh toán trực tuyến (10 điểm)';
COMMENT ON COLUMN mart.bi_scorecard.digitization_score IS 'Số hóa hồ sơ (22 điểm)';
COMMENT ON COLUMN mart.bi_scorecard.satisfaction_score IS 'Mức độ hài lòng (18 điểm)';
COMMENT ON COLUMN mart.bi_scorecard.total_score IS 'Tổng điểm';
COMMENT ON COLUMN mart.bi_scorecard.max_score IS 'Điểm tối đa (100)';
COMMENT ON COLUMN mart.bi_scorecard.max_available IS 'Điểm tối đa của các mục chấm được từ dữ liệu';
COMMENT ON COLUMN mart.bi_scorecard.score_pct IS 'Tỷ lệ điểm đạt trên điểm chấm được (%)';
COMMENT ON COLUMN mart.bi_scorecard.rank_in_level IS 'Thứ hạng trong cùng cấp, cùng đơn vị cấp trên';
COMMENT ON COLUMN mart.bi_scorecard.units_in_level IS 'Số đơn vị cùng cấp';
COMMENT ON COLUMN mart.bi_scorecard.rank_label IS 'Xếp hạng (ví dụ 7/8 huyện)';
COMMENT ON COLUMN mart.bi_scorecard.band_label IS 'Xếp loại';
COMMENT ON COLUMN mart.bi_scorecard.not_scored IS 'Các mục chưa chấm được và lý do';

CREATE OR REPLACE VIEW mart.bi_rank_gap AS
SELECT
    g.period_type,
    g.period_start,
    mart.period_label(g.period_type, g.period_start) AS period_label,
    g.unit_scheme,
    g.unit_code,
    u.unit_name,
    g.indicator_code,
    i.label_vi AS indicator_label,
    g.item_code,
    g.numerator,
    g.denominator,
    g.score,
    g.max_score,
    g.points_lost,
    g.total_score,
    g.rank_in_level,
    g.units_in_level,
    g.next_rank,
    g.next_units,
    g.gap_points,
    g.points_per_extra,
    g.extra_needed_alone,
    g.extra_in_plan,
    l.lever_vi
FROM mart.rank_gap AS g
INNER JOIN mart.indicator AS i USING (indicator_code)
LEFT JOIN mart.improvement_lever AS l USING (indicator_code)
LEFT JOIN mart.unit AS u USING (unit_code);

COMMENT ON VIEW mart.bi_rank_gap IS 'Điểm bị mất theo từng chỉ số và số hồ sơ cần cải thiện để lên một hạng';
COMMENT ON COLUMN mart.bi_rank_gap.points_lost IS 'Điểm bị mất (điểm tối đa − điểm đạt)';
COMMENT ON COLUMN mart.bi_rank_gap.next_rank IS 'Hạng của đơn vị xếp ngay trên';
COMMENT ON COLUMN mart.bi_rank_gap.gap_points IS 'Số điểm cách đơn vị xếp ngay trên';
COMMENT ON COLUMN mart.bi_rank_gap.points_per_extra IS 'Điểm tăng thêm cho mỗi hồ sơ cải thiện';
COMMENT ON COLUMN mart.bi_rank_gap.extra_needed_alone IS
'Số hồ sơ cần cải thiện nếu chỉ dựa vào chỉ số này (trống: không đủ)';
COMMENT ON COLUMN mart.bi_rank_gap.extra_in_plan IS 'Số hồ sơ của chỉ số này trong phương án ít hồ sơ nhất';
COMMENT ON COLUMN mart.bi_rank_gap.lever_vi IS 'Việc cần làm';

-- One sentence per unit and period, the first thing a district's leadership reads.
CREATE OR REPLACE VIEW mart.bi_next_rank AS
WITH plan AS (
    SELECT
        g.period_type,
        g.period_start,
        g.unit_scheme,
        g.unit_code,
        min(g.total_score) AS total_score,
        min(g.rank_in_level) AS rank_in_level,
        min(g.units_in_level) AS units_in_level,
        min(g.next_rank) AS next_rank,
        min(g.next_units) AS next_units,
        min(g.gap_points) AS gap_points,
        sum(g.extra_in_plan) AS dossiers_in_plan,
        -- the plan closes the gap when the dossier levers together have enough points
        sum(g.points_lost) FILTER (WHERE l.is_dossier AND g.points_per_extra IS NOT NULL)
        >= min(g.gap_points) AS reachable,
        string_agg(g.extra_in_plan || ' ' || l.lever_vi, ', ' ORDER BY g.points_per_extra DESC, g.indicator_code ASC)
        FILTER (WHERE g.extra_in_plan > 0) AS actions
    FROM mart.rank_gap AS g
    LEFT JOIN mart.improvement_lever AS l USING (indicator_code)
    GROUP BY g.period_type, g.period_start, g.unit_scheme, g.unit_code
)

SELECT
    p.period_type,
    p.period_start,
    mart.period_label(p.period_type, p.period_start) AS period_label,
    p.unit_scheme,
    p.unit_code,
    u.unit_name,
    p.total_score,
    p.rank_in_level,
    p.units_in_level,
    p.next_rank,
    p.next_units,
    p.gap_points,
    p.dossiers_in_plan,
    CASE WHEN
            p.next_rank IS NULL
            THEN u.unit_name || ' đang xếp thứ nhất (' || p.rank_in_level || '/' || p.units_in_level || ')'
        WHEN NOT coalesce(
                p.reachable, FALSE
            )
            THEN 'Chỉ cải thiện hồ sơ không đủ để ' || u.unit_name || ' lên hạng '
                || p.next_rank || '/' || p.units_in_level || ' (cách ' || p.gap_points || ' điểm)'
        ELSE p.actions || ' sẽ đưa ' || u.unit_name || ' lên hạng ' || p.next_rank || '/' || p.units_in_level
    END AS advice_vi
FROM plan AS p
LEFT JOIN mart.unit AS u USING (unit_code);

COMMENT ON VIEW mart.bi_next_rank IS 'Con đường lên một hạng: số hồ sơ ít nhất cần cải thiện, theo đơn vị và kỳ';
COMMENT ON COLUMN mart.bi_next_rank.advice_vi IS
'Khuyến nghị (ví dụ: 12 hồ sơ thanh toán trực tuyến thêm, 3 hồ sơ trễ hạn ít hơn sẽ đưa … lên hạng 6/8)';
COMMENT ON COLUMN mart.bi_next_rank.gap_points IS 'Số điểm cách đơn vị xếp ngay trên';
COMMENT ON COLUMN mart.bi_next_rank.dossiers_in_plan IS 'Tổng số hồ sơ cần cải thiện';

-- The unit report (tthc.report) reads only mart: this view is the mart's window on what it needs
-- from core.
--
-- Late dossiers per month of finishing, procedure and competent unit, once for every unit above
-- the competent unit (rollup_unit_code, from core.unit_closure, the unit itself included), so that
-- "the late dossiers of district X in period P" is one filter and one sum:
--   WHERE rollup_unit_code = X AND month >= P.start AND month < P.end.
-- A dossier counts when it is finished with a promised date (timeliness known, as for
-- ON_TIME_FINISHED); late = finished after the promised date; the month is the local month of
-- finished_at.
CREATE OR REPLACE VIEW mart.late_dossier_by_procedure AS
WITH finished AS (
    SELECT
        date_trunc('month', d.finished_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS month,
        d.competent_unit_code AS unit_code,
        coalesce(d.procedure_code, '?') AS procedure_code,
        max(d.procedure_name) AS procedure_name,
        max(d.field_name) AS field_name,
        count(*) AS finished_with_due,
        count(*) FILTER (WHERE d.timeliness = 'late') AS late,
        count(*) FILTER (WHERE d.timeliness = 'late' AND NOT d.has_apology) AS late_without_apology
    FROM core.fact_dossier AS d
    WHERE d.timeliness IS NOT NULL AND d.finished_at IS NOT NULL AND d.competent_unit_code IS NOT NULL
    GROUP BY 1, 2, 3
)

SELECT
    closure.ancestor_code AS rollup_unit_code,
    f.month,
    f.unit_code,
    coalesce(unit.unit_name, f.unit_code) AS unit_name,
    f.procedure_code,
    coalesce(proc.procedure_name, f.procedure_name, f.procedure_code) AS procedure_name,
    f.field_name,
    f.finished_with_due,
    f.late,
    f.late_without_apology
FROM finished AS f
INNER JOIN core.unit_closure AS closure ON closure.descendant_code = f.unit_code
LEFT JOIN core.dim_unit AS unit ON unit.unit_code = f.unit_code AND unit.row_valid_to IS NULL
-- the name in the first source's catalogue that has the code (sources may name it apart)
LEFT JOIN LATERAL (
    SELECT p.procedure_name FROM core.dim_procedure AS p
    WHERE p.procedure_code = f.procedure_code AND p.row_valid_to IS NULL
    ORDER BY p.source_id
    LIMIT 1
) AS proc ON TRUE;
