-- Rewrite mart.watchlist and mart.late_without_apology as of the end of the newest loaded dossier
-- window (docs/worklists.md): what the units must act on now, whichever months this refresh
-- covers. One call each of mart.watchlist_at and mart.late_without_apology_at.

CREATE TEMP TABLE watchlist_as_of ON COMMIT DROP AS
SELECT max(window_end) AS as_of
FROM raw.batch
WHERE entity = 'dossier' AND status = 'loaded';

DELETE FROM mart.watchlist;

INSERT INTO mart.watchlist (
    as_of, ma_ho_so, unit_code, unit_name, procedure_code, procedure_name, received_at, due_at,
    hours_left, office, category, applicant_token, source_id
)
SELECT
    a.as_of,
    w.ma_ho_so,
    w.unit_code,
    w.unit_name,
    w.procedure_code,
    w.procedure_name,
    w.received_at,
    w.due_at,
    w.hours_left,
    w.office,
    w.category,
    w.applicant_token,
    w.source_id
FROM watchlist_as_of AS a
CROSS JOIN LATERAL mart.watchlist_at(a.as_of) AS w
WHERE a.as_of IS NOT NULL;

DELETE FROM mart.late_without_apology;

INSERT INTO mart.late_without_apology (
    as_of, ma_ho_so, unit_code, unit_name, procedure_code, procedure_name, received_at, due_at,
    finished_at, office, applicant_token, source_id
)
SELECT
    a.as_of,
    l.ma_ho_so,
    l.unit_code,
    l.unit_name,
    l.procedure_code,
    l.procedure_name,
    l.received_at,
    l.due_at,
    l.finished_at,
    l.office,
    l.applicant_token,
    l.source_id
FROM watchlist_as_of AS a
CROSS JOIN LATERAL mart.late_without_apology_at(a.as_of) AS l
WHERE a.as_of IS NOT NULL;

SELECT
    (SELECT count(*) FROM mart.watchlist),
    (SELECT count(*) FROM mart.late_without_apology);
