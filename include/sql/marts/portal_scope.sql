-- The units one fetch speaks for (incoming_portal_scope): the root, its subtree in
-- core.unit_closure and every unit the portal listed. A current row of the period for a unit in
-- scope that the fetch did not bring back is no longer published and is closed.
INSERT INTO incoming_portal_scope (unit_code)
SELECT %(root_code)s
UNION
SELECT descendant_code FROM core.unit_closure
WHERE ancestor_code = %(root_code)s
UNION
SELECT unit_code FROM incoming_portal_score
UNION
SELECT unit_code FROM incoming_portal_metric;
