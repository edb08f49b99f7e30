-- A view the unit report (plugins/tthc/report, dags/tthc_report.py) reads. The report reads only
-- mart; this view is the mart's window on what it needs from core (bi_reader, who may read mart
-- only, can read it too: a view runs with its owner's rights).

-- Late dossiers per month of finishing, procedure and competent unit, once for every unit above
-- the competent unit (rollup_unit_code, from core.unit_closure, the unit itself included), so that
-- "the late dossiers of district X in period P" is one filter and one sum:
--   WHERE rollup_unit_code = X AND month >= P.start AND month < P.end.
-- A dossier counts when it is finished with a promised date (timeliness known, as for
-- ON_TIME_FINISHED); late = finished after the promised date; the month is the local month of
-- finished_at.
CREATE OR REPLACE VIEW mart.late_dossier_by_procedure AS
WITH finished AS (
    SELECT date_trunc('month', d.finished_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS month,
           d.competent_unit_code                                                    AS unit_code,
           coalesce(d.procedure_code, '?')                                          AS procedure_code,
           max(d.procedure_name)                                                    AS procedure_name,
           max(d.field_name)                                                        AS field_name,
           count(*)                                                                 AS finished_with_due,
           count(*) FILTER (WHERE d.timeliness = 'late')                            AS late,
           count(*) FILTER (WHERE d.timeliness = 'late' AND NOT d.has_apology)      AS late_without_apology
    FROM core.fact_dossier AS d
    WHERE d.timeliness IS NOT NULL AND d.finished_at IS NOT NULL AND d.competent_unit_code IS NOT NULL
    GROUP BY 1, 2, 3
)
SELECT closure.ancestor_code AS rollup_unit_code,
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
JOIN core.unit_closure AS closure ON closure.descendant_code = f.unit_code
LEFT JOIN core.dim_unit AS unit ON unit.unit_code = f.unit_code AND unit.row_valid_to IS NULL
LEFT JOIN core.dim_procedure AS proc ON proc.procedure_code = f.procedure_code AND proc.row_valid_to IS NULL;
