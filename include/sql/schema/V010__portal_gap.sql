-- The gap between what the national portal publishes and the province's own figures
-- (docs/portal.md, "The gap"): per period, unit, scheme and published item, the province's own
-- figure over all its dossiers (mart.indicator_value), the same indicator over the dossiers it
-- synchronized to the portal only (DongBoDVCQG = 1), and the portal's (mart.portal_metric_current).
-- Written by marts/portal_gap.sql at the end of each portal fetch and as the last step of the
-- indicator refresh, for the periods that have portal rows; a recomputation that finds the same
-- numbers leaves the rows as they are.
CREATE TABLE mart.portal_gap (
    period_type text NOT NULL CHECK (period_type IN ('year', 'quarter', 'month')),
    period_start date NOT NULL,
    unit_code text NOT NULL,
    unit_scheme text NOT NULL CHECK (unit_scheme IN ('as_recorded', 'current')),
    item_code text NOT NULL,             -- as the portal numbers it ('3.6', '4.5b')
    indicator_code text NOT NULL REFERENCES mart.indicator,
    scoring_item_code text NOT NULL,     -- mart.scoring_rule.item_code
    own_numerator numeric,
    own_denominator numeric,
    own_synced_numerator numeric,
    own_synced_denominator numeric,
    portal_numerator numeric,            -- NULL: the portal did not publish the item for the unit
    portal_denominator numeric,
    unsynced_dossiers bigint NOT NULL,   -- received in the period (unit and below), not synchronized
    own_score numeric,
    own_synced_score numeric,
    portal_score numeric,
    explained boolean,                   -- synced-only figure = the portal's; NULL: not published
    points_from_sync numeric,            -- own_score - own_synced_score
    points_not_explained numeric,        -- own_synced_score - portal_score
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (period_type, period_start, unit_code, unit_scheme, item_code),
    CHECK (period_start = date_trunc(period_type, period_start::timestamp)::date)
);

COMMENT ON TABLE mart.portal_gap IS
'Chênh lệch giữa điểm Cổng DVCQG công bố và số liệu của tỉnh, theo kỳ, đơn vị và mục chỉ số';
