-- The daily digest's second list (tthc.digest): the dossiers finished late in the 30 days before
-- the digest's instant without an apology slip, per unit, the latest finished first.
SELECT
    l.unit_code,
    l.unit_name,
    l.ma_ho_so,
    l.procedure_code,
    l.procedure_name,
    l.office,
    l.received_at,
    l.due_at,
    l.finished_at,
    l.applicant_token
FROM mart.late_without_apology_at(%(at)s::timestamptz) AS l
ORDER BY l.unit_code ASC, l.finished_at DESC, l.ma_ho_so ASC;
