-- ON_TIME_766 counts the dossiers open at a period's end e: received before e and not finished
-- before e, i.e. the interval (received_at, end] contains e, where end = greatest(finished_at,
-- received_at) for a finished status (7..10) and is unbounded otherwise.
--
-- This used to be answered by a GiST index on that interval (053_mart_refresh.sql). A GiST insert
-- compares the new interval with every entry of each page on its way down, and that index was the
-- most expensive part of every load: 2.0 s of the 3.4 s the largest month's 66,524 facts took to
-- insert into a 1M-dossier warehouse (1.4 s without it; docs/performance.md). Two btrees do it
-- instead, because most dossiers are short-lived:
-- - a dossier finished within the window below of its reception can be open at e only if it was
--   received in the window before e and finished in the window after it: the reception and finish
--   indexes (fact_dossier_received_idx, fact_dossier_finished_idx) find it together;
-- - the rest (still open, or open longer than the window) are few, and have a small index of their
--   own, below.
-- include/sql/marts/indicator_value.sql asks both; the window and the split are said once, here.

DROP INDEX IF EXISTS core.fact_dossier_open_interval_idx;

-- The longest a dossier found through its reception may stay open. Longer than most legal time
-- limits, so that the long-open index stays small; short enough that the index scans of one
-- period's end read a few weeks of dossiers. Written twice, here and in core.dossier_open_long
-- (which says why); the partial index below holds the split: after a change of the window, change
-- both and REINDEX INDEX core.fact_dossier_open_long_idx.
CREATE OR REPLACE FUNCTION core.open_dossier_window() RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT interval '45 days' $$;

-- Whether a dossier (a fact row with a promised date, received, not refused at the desk) is still
-- open or was open longer than the window: the ones the reception and finish indexes cannot find.
-- The window is written out again here, not called: the planner inlines this function into the
-- index's predicate whenever it plans a query on the facts, also for a role without access to the
-- core schema (the BI reader, through the report views), and a call of core.open_dossier_window()
-- in the body made that fail with "permission denied for schema core".
CREATE OR REPLACE FUNCTION core.dossier_open_long(status smallint, received_at timestamptz, finished_at timestamptz)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT status NOT IN (7, 8, 9, 10) OR greatest(finished_at, received_at) - received_at > interval '45 days'
$$;

CREATE INDEX IF NOT EXISTS fact_dossier_open_long_idx ON core.fact_dossier (received_at)
WHERE due_at IS NOT NULL AND received_at IS NOT NULL AND status NOT IN (1, 3)
  AND core.dossier_open_long(status, received_at, finished_at);
