-- The rows the statutory form 06/VPCP/KSTT of one unit is laid out from (tthc.report.form_06):
-- every row of %(unit)s (its fields and its total, field_code NULL), and the total row of every
-- unit of the same window and scheme (the summary layout walks their parent_code to find the
-- units below %(unit)s). Reads mart only.
SELECT
    f.unit_code,
    coalesce(u.unit_name, f.unit_code) AS unit_name,
    f.unit_type,
    f.parent_code,
    f.field_code,
    f.field_name,
    f.window_start,
    f.window_end,
    f.received_total,
    f.received_online,
    f.received_in_person,
    f.received_carried_over,
    f.finished_total,
    f.finished_early,
    f.finished_on_time,
    f.finished_late,
    f.finished_without_due,
    f.in_progress_total,
    f.in_progress_within_time,
    f.in_progress_overdue,
    f.computed_at
FROM mart.form_06 AS f
LEFT JOIN mart.unit AS u ON f.unit_code = u.unit_code
WHERE
    f.period_kind = %(kind)s
    AND f.period_type = %(period_type)s
    AND f.period_start = %(period_start)s
    AND f.unit_scheme = %(scheme)s
    AND (f.unit_code = %(unit)s OR f.field_code IS NULL)
ORDER BY f.unit_code ASC, f.field_code ASC NULLS FIRST;
