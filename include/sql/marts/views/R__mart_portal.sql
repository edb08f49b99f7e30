-- What the national portal publishes now (docs/portal.md): the current rows of mart.portal_score
-- and mart.portal_metric (superseded_at IS NULL), the items with the project's indicator and
-- scoring item of mart.portal_item_map in force on the period's first day. fetched_at is the
-- fetch that first saw the values; the history is in the base tables.
CREATE OR REPLACE VIEW mart.portal_score_current AS
SELECT
    period_type,
    period_start,
    unit_code,
    unit_name,
    transparency_score,
    progress_score,
    online_service_score,
    online_payment_score,
    digitization_score,
    satisfaction_score,
    total_score,
    fetched_at
FROM mart.portal_score
WHERE superseded_at IS NULL;

CREATE OR REPLACE VIEW mart.portal_metric_current AS
SELECT
    metric.period_type,
    metric.period_start,
    metric.unit_code,
    metric.item_code,
    metric.portal_group,
    item_map.indicator_code,
    item_map.scoring_item_code,
    metric.ratio,
    metric.score,
    metric.max_score,
    metric.numerator,
    metric.denominator,
    metric.fetched_at
FROM mart.portal_metric AS metric
LEFT JOIN mart.portal_item_map AS item_map
    ON
        item_map.portal_item_code = metric.item_code
        AND item_map.valid_from <= metric.period_start
        AND (item_map.valid_to IS NULL OR item_map.valid_to > metric.period_start)
WHERE metric.superseded_at IS NULL;

COMMENT ON VIEW mart.portal_score_current IS 'Điểm Bộ chỉ số 766 Cổng DVCQG đang công bố, theo kỳ và đơn vị';
COMMENT ON VIEW mart.portal_metric_current IS
'Chỉ tiêu Cổng DVCQG đang công bố theo kỳ, đơn vị và mục, với chỉ số tương ứng của dự án';
