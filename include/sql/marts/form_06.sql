-- Rewrite mart.form_06 (form 06/VPCP/KSTT, docs/worklists.md) for the windows of refresh_window
-- (refresh_scope.sql): calendar periods and statutory windows, every unit, both unit schemes, per
-- field and in total. For a window [s, e):
--   received   carried over (open at s) + received in [s, e) online (KenhThucHien 2) or not;
--   finished   finished in [s, e): late = more than one supplement request, or end - pause after
--              NgayHenTra (so also without NgayHenTra when it had two requests); early = not late
--              and end - pause on an earlier local date than NgayHenTra; on time = the rest,
--              including those without NgayHenTra (finished_without_due). Judged here from the
--              timestamps in local time, not read from timeliness: the merge leaves timeliness
--              NULL without NgayHenTra, and takes its dates in the session's time zone;
--   in progress  open at e, overdue when late at e (core.dossier_state_at).
-- Every dossier of D open at s or received in [s, e) is either finished in [s, e) or open at e, so
-- received_total = finished_total + in_progress_total (the dates_ordered rule keeps NgayKetThucXuLy
-- from preceding NgayTiepNhan). The additive columns come from half-month leaves, the open ones from
-- the state at each window's two ends. Reads the temp tables of leaf_month.sql (month_bound) and
-- indicator_value.sql (scheme_unit); runs in the refresh's transaction.

-- Leaves of the months being aggregated again: reception and finish by index range, each counted
-- in its half of the month (before or after the day after the cut-off in force that month).
CREATE TEMP TABLE form_month ON COMMIT DROP AS
SELECT
    b.month,
    b.from_at,
    b.to_at,
    (b.month + cutoff.cutoff_day)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS split_at,
    b.month + cutoff.cutoff_day AS split_day
FROM month_bound AS b
CROSS JOIN LATERAL (
    SELECT c.cutoff_day FROM mart.statutory_cutoff AS c
    WHERE c.valid_from <= b.month
    ORDER BY c.valid_from DESC
    LIMIT 1
) AS cutoff;
ANALYZE form_month;

DELETE FROM mart.agg_form_06_bucket AS a
USING refresh_month AS m
WHERE a.bucket_start >= m.month AND a.bucket_start < m.month + interval '1 month';

INSERT INTO mart.agg_form_06_bucket (
    bucket_start, unit_code, field_code, received_online, received_in_person,
    finished_early, finished_on_time, finished_late, finished_without_due
)
WITH received AS (
    SELECT
        CASE WHEN d.received_at < m.split_at THEN m.month ELSE m.split_day END AS bucket_start,
        d.competent_unit_code AS unit_code,
        coalesce(d.field_code, '') AS field_code,
        count(*) FILTER (WHERE d.channel = 2) AS received_online,
        count(*) FILTER (WHERE d.channel <> 2) AS received_in_person
    FROM form_month AS m
    INNER JOIN core.fact_dossier AS d ON m.from_at <= d.received_at AND m.to_at > d.received_at
    WHERE d.status NOT IN (1, 3) AND d.competent_unit_code IS NOT NULL
    GROUP BY 1, 2, 3
),

finished_dossier AS (
    SELECT
        CASE WHEN d.finished_at < m.split_at THEN m.month ELSE m.split_day END AS bucket_start,
        d.competent_unit_code AS unit_code,
        coalesce(d.field_code, '') AS field_code,
        d.due_at,
        coalesce(d.supplement_count > 1 OR d.end_adjusted_at > d.due_at, FALSE) AS is_late,
        coalesce(
            (d.end_adjusted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
            < (d.due_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, FALSE
        ) AS earlier_date
    FROM form_month AS m
    INNER JOIN core.fact_dossier AS d ON m.from_at <= d.finished_at AND m.to_at > d.finished_at
    WHERE d.status IN (7, 8, 9, 10) AND d.received_at IS NOT NULL AND d.competent_unit_code IS NOT NULL
),

finished AS (
    SELECT
        bucket_start,
        unit_code,
        field_code,
        count(*) FILTER (WHERE NOT is_late AND earlier_date) AS finished_early,
        count(*) FILTER (WHERE NOT is_late AND NOT earlier_date) AS finished_on_time,
        count(*) FILTER (WHERE is_late) AS finished_late,
        count(*) FILTER (WHERE NOT is_late AND due_at IS NULL) AS finished_without_due
    FROM finished_dossier
    GROUP BY bucket_start, unit_code, field_code
)

SELECT
    bucket_start,
    unit_code,
    field_code,
    coalesce(r.received_online, 0),
    coalesce(r.received_in_person, 0),
    coalesce(f.finished_early, 0),
    coalesce(f.finished_on_time, 0),
    coalesce(f.finished_late, 0),
    coalesce(f.finished_without_due, 0)
FROM received AS r
FULL JOIN finished AS f USING (bucket_start, unit_code, field_code);

-- The open dossiers at every window end, per unit as recorded and field.
CREATE TEMP TABLE form_open ON COMMIT DROP AS
WITH boundary AS (
    SELECT DISTINCT
        day,
        day::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS end_at
    FROM (
        SELECT window_start FROM refresh_window
        UNION
        SELECT window_end FROM refresh_window
    ) AS ends (day)
)

SELECT
    b.day,
    s.unit_code,
    coalesce(s.field_code, '') AS field_code,
    count(*) AS open_count,
    count(*) FILTER (WHERE s.is_late) AS late_count
FROM boundary AS b
CROSS JOIN LATERAL core.dossier_state_at(b.end_at) AS s
GROUP BY b.day, s.unit_code, coalesce(s.field_code, '');
ANALYZE form_open;

-- Per window, leaf unit and field: the bucket sums, the carried over, the in progress.
CREATE TEMP TABLE form_leaf ON COMMIT DROP AS
SELECT
    w.period_kind,
    w.period_type,
    w.period_start,
    a.unit_code,
    a.field_code,
    sum(a.received_online)::int AS received_online,
    sum(a.received_in_person)::int AS received_in_person,
    0 AS received_carried_over,
    sum(a.finished_early)::int AS finished_early,
    sum(a.finished_on_time)::int AS finished_on_time,
    sum(a.finished_late)::int AS finished_late,
    sum(a.finished_without_due)::int AS finished_without_due,
    0 AS in_progress_total,
    0 AS in_progress_overdue
FROM refresh_window AS w
INNER JOIN mart.agg_form_06_bucket AS a ON w.window_start <= a.bucket_start AND w.window_end > a.bucket_start
GROUP BY w.period_kind, w.period_type, w.period_start, a.unit_code, a.field_code
UNION ALL
SELECT
    w.period_kind,
    w.period_type,
    w.period_start,
    o.unit_code,
    o.field_code,
    0,
    0,
    CASE WHEN o.day = w.window_start THEN o.open_count::int ELSE 0 END,
    0,
    0,
    0,
    0,
    CASE WHEN o.day = w.window_end THEN o.open_count::int ELSE 0 END,
    CASE WHEN o.day = w.window_end THEN o.late_count::int ELSE 0 END
FROM refresh_window AS w
INNER JOIN form_open AS o ON o.day IN (w.window_start, w.window_end);
ANALYZE form_leaf;

-- Rolled up the unit tree of each scheme, per field and in total (field_code NULL).
CREATE TEMP TABLE form_rolled ON COMMIT DROP AS
SELECT
    l.period_kind,
    l.period_type,
    l.period_start,
    s.unit_scheme,
    c.ancestor_code AS unit_code,
    l.field_code,
    sum(l.received_online) AS received_online,
    sum(l.received_in_person) AS received_in_person,
    sum(l.received_carried_over) AS received_carried_over,
    sum(l.finished_early) AS finished_early,
    sum(l.finished_on_time) AS finished_on_time,
    sum(l.finished_late) AS finished_late,
    sum(l.finished_without_due) AS finished_without_due,
    sum(l.in_progress_total) AS in_progress_total,
    sum(l.in_progress_overdue) AS in_progress_overdue
FROM form_leaf AS l
INNER JOIN scheme_unit AS s ON l.unit_code = s.unit_code
INNER JOIN core.unit_closure AS c ON s.scheme_unit_code = c.descendant_code
GROUP BY
    l.period_kind, l.period_type, l.period_start, s.unit_scheme, c.ancestor_code,
    GROUPING SETS ((l.field_code), ());

-- Every unit of each scheme gets a total row, zeros when it had nothing: as recorded, the units
-- valid at some time in the window; current, today's units (as for the indicators).
INSERT INTO form_rolled (period_kind, period_type, period_start, unit_scheme, unit_code, field_code)
SELECT
    w.period_kind,
    w.period_type,
    w.period_start,
    grid.unit_scheme,
    grid.unit_code,
    NULL
FROM refresh_window AS w
CROSS JOIN
    LATERAL (
        SELECT
            'as_recorded'::text AS unit_scheme,
            u.unit_code
        FROM core.dim_unit AS u
        WHERE u.row_valid_to IS NULL AND mart.unit_valid_during(u.valid_from, u.valid_to, w.window_start, w.window_end)
        UNION ALL
        SELECT
            'current',
            u.unit_code
        FROM core.dim_unit AS u
        WHERE u.row_valid_to IS NULL AND (u.valid_to IS NULL OR u.valid_to >= current_date)
    ) AS grid
WHERE NOT EXISTS (
        SELECT 1 FROM form_rolled AS r
        WHERE r.period_kind = w.period_kind AND r.period_type = w.period_type AND r.period_start = w.period_start
            AND r.unit_scheme = grid.unit_scheme AND r.unit_code = grid.unit_code AND r.field_code IS NULL
    );

-- A field's name from the current procedure catalogue (the first, if procedures disagree).
CREATE TEMP TABLE form_field ON COMMIT DROP AS
SELECT
    field_code,
    min(field_name) AS field_name
FROM core.dim_procedure
WHERE row_valid_to IS NULL AND field_code IS NOT NULL
GROUP BY field_code;
ANALYZE form_rolled;
ANALYZE form_field;

DELETE FROM mart.form_06 AS f
USING refresh_window AS w
WHERE f.period_kind = w.period_kind AND f.period_type = w.period_type AND f.period_start = w.period_start;

INSERT INTO mart.form_06 (
    period_kind, period_type, period_start, window_start, window_end, unit_code, unit_scheme,
    unit_type, parent_code, field_code, field_name,
    received_total, received_online, received_in_person, received_carried_over,
    finished_total, finished_early, finished_on_time, finished_late, finished_without_due,
    in_progress_total, in_progress_within_time, in_progress_overdue, computed_at
)
SELECT
    r.period_kind,
    r.period_type,
    r.period_start,
    w.window_start,
    w.window_end,
    r.unit_code,
    r.unit_scheme,
    u.unit_type,
    u.parent_code,
    r.field_code,
    CASE
        WHEN r.field_code IS NULL THEN NULL
        WHEN r.field_code = '' THEN 'Chưa xác định lĩnh vực'
        ELSE coalesce(ff.field_name, r.field_code)
    END,
    coalesce(r.received_carried_over + r.received_online + r.received_in_person, 0),
    coalesce(r.received_online, 0),
    coalesce(r.received_in_person, 0),
    coalesce(r.received_carried_over, 0),
    coalesce(r.finished_early + r.finished_on_time + r.finished_late, 0),
    coalesce(r.finished_early, 0),
    coalesce(r.finished_on_time, 0),
    coalesce(r.finished_late, 0),
    coalesce(r.finished_without_due, 0),
    coalesce(r.in_progress_total, 0),
    coalesce(r.in_progress_total - r.in_progress_overdue, 0),
    coalesce(r.in_progress_overdue, 0),
    now()
FROM form_rolled AS r
INNER JOIN refresh_window AS w USING (period_kind, period_type, period_start)
INNER JOIN core.dim_unit AS u ON r.unit_code = u.unit_code AND u.row_valid_to IS NULL
LEFT JOIN form_field AS ff ON r.field_code = ff.field_code;

-- the rows written (form_rolled holds exactly them)
SELECT count(*) FROM form_rolled;
