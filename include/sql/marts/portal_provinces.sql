-- The provinces of a warehouse of several (the nation VN at the root of core.unit_closure) whose
-- validity overlaps [%(period_start)s, %(period_end)s): the trees the portal is asked for, one
-- fetch each. A province merged on 2025-07-01 is asked for the periods it existed in.
SELECT unit.unit_code
FROM core.unit_closure AS closure
INNER JOIN core.dim_unit AS unit
    ON closure.descendant_code = unit.unit_code AND unit.row_valid_to IS NULL
WHERE
    closure.ancestor_code = 'VN'
    AND closure.depth = 1
    AND unit.unit_type = 'TINH'
    AND mart.unit_valid_during(unit.valid_from, unit.valid_to, %(period_start)s, %(period_end)s)
ORDER BY unit.unit_code;
