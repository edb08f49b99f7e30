-- The unit tree as the roll-ups walk it: every current unit and its parent, where a province's
-- parent is the nation (VN) when the warehouse holds several provinces (core/merge_unit.sql puts
-- VN in dim_unit then). The sources send provinces as roots; this is the one place that says
-- they are not the root of a national warehouse. core.unit_closure is built from it, and the
-- mart invariants add children up along it.
CREATE OR REPLACE VIEW core.unit_tree AS
SELECT
    u.unit_code,
    CASE
        WHEN u.parent_code IS NULL AND u.unit_type = 'TINH' AND nation.unit_code IS NOT NULL THEN nation.unit_code
        ELSE u.parent_code
    END AS parent_code
FROM core.dim_unit AS u
LEFT JOIN core.dim_unit AS nation ON nation.unit_code = 'VN' AND nation.row_valid_to IS NULL
WHERE u.row_valid_to IS NULL;
