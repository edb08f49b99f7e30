-- The root of the unit tree (core.unit_closure): the units no other unit is above, with their
-- current names. The province's portal scores are fetched for its subtree; tthc.portal refuses
-- to guess when there is none (the reference data not loaded) or more than one.
SELECT
    closure.ancestor_code AS unit_code,
    unit.unit_name
FROM core.unit_closure AS closure
LEFT JOIN core.dim_unit AS unit
    ON closure.ancestor_code = unit.unit_code AND unit.row_valid_to IS NULL
WHERE
    closure.depth = 0
    AND NOT EXISTS (
        SELECT 1
        FROM core.unit_closure AS above
        WHERE above.descendant_code = closure.ancestor_code AND above.depth > 0
    )
ORDER BY closure.ancestor_code;
