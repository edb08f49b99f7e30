-- core: the current state. Dimensions keep history (SCD type 2: one row per version, the
-- current one with row_valid_to NULL); facts hold one row per live dossier.

CREATE TABLE core.dim_unit (
    unit_version_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_code text NOT NULL,
    unit_name text NOT NULL,
    unit_type text NOT NULL,
    parent_code text,
    gso_code text,
    valid_from date,
    valid_to date,
    successor_codes text[] NOT NULL DEFAULT '{}',
    source_updated_at timestamptz,
    row_valid_from timestamptz NOT NULL,
    row_valid_to timestamptz,
    batch_id bigint NOT NULL
);
CREATE UNIQUE INDEX dim_unit_current_idx ON core.dim_unit (unit_code) WHERE row_valid_to IS NULL;

-- Which unit took over which on a reorganisation (2025-07-01: many-to-many).
CREATE TABLE core.unit_lineage (
    predecessor_code text NOT NULL,
    successor_code text NOT NULL,
    effective_date date NOT NULL,
    PRIMARY KEY (predecessor_code, successor_code)
);

-- Every unit with every unit above it (and itself, depth 0), for roll-ups.
CREATE TABLE core.unit_closure (
    ancestor_code text NOT NULL,
    descendant_code text NOT NULL,
    depth integer NOT NULL,
    PRIMARY KEY (ancestor_code, descendant_code)
);
CREATE INDEX unit_closure_descendant_idx ON core.unit_closure (descendant_code);

CREATE TABLE core.dim_procedure (
    procedure_version_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    procedure_code text NOT NULL,
    procedure_name text NOT NULL,
    field_code text,
    field_name text,
    levels text[] NOT NULL DEFAULT '{}',
    time_limit numeric,
    time_limit_unit text,
    has_fee boolean NOT NULL,
    has_paper_result boolean NOT NULL,
    online_level text,
    source_updated_at timestamptz,
    row_valid_from timestamptz NOT NULL,
    row_valid_to timestamptz,
    batch_id bigint NOT NULL
);
CREATE UNIQUE INDEX dim_procedure_current_idx ON core.dim_procedure (procedure_code) WHERE row_valid_to IS NULL;

CREATE TABLE core.dim_date (
    day date PRIMARY KEY,
    is_working_day boolean NOT NULL,
    holiday_name text,
    lunar_date text NOT NULL,
    source text NOT NULL
);

-- The warehouse's own id of a dossier, not the source's: a dossier keeps it when a newer version
-- replaces it, and gets it back when it is deleted (the tombstone keeps it) and then revived.
CREATE SEQUENCE core.dossier_id_seq AS bigint;

CREATE TABLE core.fact_dossier (
    ma_ho_so text PRIMARY KEY,
    procedure_code text,
    procedure_name text,
    field_code text,
    field_name text,
    receiving_unit_code text,
    competent_unit_code text,
    channel smallint NOT NULL,  -- 1 in person (also when the source sent none), 2 online, 3 post
    applicant_type smallint,
    applicant_name_token text,
    applicant_id_token text,
    applicant_phone_token text,
    applicant_email_token text,
    applicant_address_token text,
    summary_token text,
    submitted_at timestamptz,
    received_at timestamptz,
    due_at timestamptz,
    finished_at timestamptz,
    returned_at timestamptz,
    refused_at timestamptz,
    status smallint NOT NULL,
    has_digitized_component boolean NOT NULL,
    vneid_verified boolean NOT NULL,
    online_payment smallint NOT NULL,
    synced_to_portal boolean NOT NULL,
    has_apology boolean NOT NULL,
    rating smallint,
    -- Derived once at merge time from the child lists, so indicators never re-scan them.
    supplement_count integer NOT NULL,
    supplement_pause interval NOT NULL,
    open_supplement_at timestamptz,
    has_positive_fee boolean NOT NULL,
    has_electronic_result boolean NOT NULL,
    has_reused_component boolean NOT NULL,
    has_citizen_store_component boolean NOT NULL,
    end_adjusted_at timestamptz,
    timeliness text CHECK (timeliness IN ('early', 'on_time', 'late')),
    source_updated_at timestamptz NOT NULL,
    batch_id bigint NOT NULL,
    merged_at timestamptz NOT NULL DEFAULT now(),
    -- The merge hands ids out itself (the child rows need them before the fact row exists); the
    -- default serves other writers (test fixtures).
    dossier_id bigint NOT NULL DEFAULT nextval('core.dossier_id_seq')
);
ALTER SEQUENCE core.dossier_id_seq OWNED BY core.fact_dossier.dossier_id;

CREATE UNIQUE INDEX fact_dossier_dossier_id_idx ON core.fact_dossier (dossier_id);
CREATE INDEX fact_dossier_received_idx ON core.fact_dossier (received_at);
CREATE INDEX fact_dossier_finished_idx ON core.fact_dossier (finished_at);
-- The invariant checks after a merge read the fact rows the batch wrote.
CREATE INDEX fact_dossier_batch_idx ON core.fact_dossier (batch_id);
-- An incremental indicator refresh finds the months that changed dossiers moved.
CREATE INDEX fact_dossier_source_updated_idx ON core.fact_dossier (source_updated_at);

-- The pseudonymized tokens are keyed hashes, distinct for nearly every dossier and compared with
-- nothing but themselves: their statistics would only make the loads' ANALYZE of the facts slower.
ALTER TABLE core.fact_dossier
ALTER COLUMN applicant_name_token SET STATISTICS 0,
ALTER COLUMN applicant_id_token SET STATISTICS 0,
ALTER COLUMN applicant_phone_token SET STATISTICS 0,
ALTER COLUMN applicant_email_token SET STATISTICS 0,
ALTER COLUMN applicant_address_token SET STATISTICS 0,
ALTER COLUMN summary_token SET STATISTICS 0;

-- The child lists of a dossier, keyed by its id: new rows are appended at the right edge of the
-- key's index instead of landing all over one keyed by the source's code. ma_ho_so stays as a
-- plain column for queries that join them to the facts by code. No foreign key: only
-- core/merge_dossier.sql writes them, in the transaction that writes their dossier (it deletes
-- children explicitly), and the dossier.core suite checks them after every batch; a key would
-- check the same again, row by row.
CREATE TABLE core.dossier_document (
    ma_ho_so text NOT NULL,
    position integer NOT NULL, component_code text, file_name text,
    is_digitized boolean, is_reused boolean, from_citizen_store boolean,
    dossier_id bigint NOT NULL,
    PRIMARY KEY (dossier_id, position)
);
CREATE TABLE core.dossier_fee (
    ma_ho_so text NOT NULL,
    position integer NOT NULL, fee_code text, fee_name text, amount numeric, collection_method text,
    dossier_id bigint NOT NULL,
    PRIMARY KEY (dossier_id, position)
);
CREATE TABLE core.dossier_result (
    ma_ho_so text NOT NULL,
    position integer NOT NULL, result_code text, result_name text, file_url text,
    dossier_id bigint NOT NULL,
    PRIMARY KEY (dossier_id, position)
);
CREATE TABLE core.dossier_supplement (
    ma_ho_so text NOT NULL,
    position integer NOT NULL, supplement_id text, requested_at timestamptz, answered_at timestamptz,
    due_before timestamptz, due_after timestamptz,
    dossier_id bigint NOT NULL,
    PRIMARY KEY (dossier_id, position)
);
CREATE TABLE core.dossier_step (
    ma_ho_so text NOT NULL,
    position integer NOT NULL, step_at timestamptz, status smallint, department text,
    handler_token text, content_token text,
    dossier_id bigint NOT NULL,
    PRIMARY KEY (dossier_id, position)
);

-- No mart reads the child lists; the merge and the invariant checks need only row counts and the
-- number of dossiers, which a small sample gives (the target the loads use for staging).
ALTER TABLE core.dossier_document
ALTER COLUMN ma_ho_so SET STATISTICS 10, ALTER COLUMN position SET STATISTICS 10,
ALTER COLUMN component_code SET STATISTICS 10, ALTER COLUMN file_name SET STATISTICS 10,
ALTER COLUMN is_digitized SET STATISTICS 10, ALTER COLUMN is_reused SET STATISTICS 10,
ALTER COLUMN from_citizen_store SET STATISTICS 10, ALTER COLUMN dossier_id SET STATISTICS 10;
ALTER TABLE core.dossier_fee
ALTER COLUMN ma_ho_so SET STATISTICS 10, ALTER COLUMN position SET STATISTICS 10,
ALTER COLUMN fee_code SET STATISTICS 10, ALTER COLUMN fee_name SET STATISTICS 10,
ALTER COLUMN amount SET STATISTICS 10, ALTER COLUMN collection_method SET STATISTICS 10,
ALTER COLUMN dossier_id SET STATISTICS 10;
ALTER TABLE core.dossier_result
ALTER COLUMN ma_ho_so SET STATISTICS 10, ALTER COLUMN position SET STATISTICS 10,
ALTER COLUMN result_code SET STATISTICS 10, ALTER COLUMN result_name SET STATISTICS 10,
ALTER COLUMN file_url SET STATISTICS 10, ALTER COLUMN dossier_id SET STATISTICS 10;
ALTER TABLE core.dossier_supplement
ALTER COLUMN ma_ho_so SET STATISTICS 10, ALTER COLUMN position SET STATISTICS 10,
ALTER COLUMN supplement_id SET STATISTICS 10, ALTER COLUMN requested_at SET STATISTICS 10,
ALTER COLUMN answered_at SET STATISTICS 10, ALTER COLUMN due_before SET STATISTICS 10,
ALTER COLUMN due_after SET STATISTICS 10, ALTER COLUMN dossier_id SET STATISTICS 10;
ALTER TABLE core.dossier_step
ALTER COLUMN ma_ho_so SET STATISTICS 10, ALTER COLUMN position SET STATISTICS 10,
ALTER COLUMN step_at SET STATISTICS 10, ALTER COLUMN status SET STATISTICS 10,
ALTER COLUMN department SET STATISTICS 10, ALTER COLUMN handler_token SET STATISTICS 10,
ALTER COLUMN content_token SET STATISTICS 10, ALTER COLUMN dossier_id SET STATISTICS 10;

-- A dossier deleted in the source (DaXoa = 1) leaves the facts but is remembered, so an older
-- version arriving late cannot bring it back. dossier_id is the id it had: the invariant check
-- finds a deleted dossier's left-over child rows by it.
CREATE TABLE core.dossier_tombstone (
    ma_ho_so text PRIMARY KEY,
    source_updated_at timestamptz NOT NULL,
    batch_id bigint NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now(),
    dossier_id bigint
);
-- The invariant check looks up the tombstones a batch wrote.
CREATE INDEX dossier_tombstone_batch_idx ON core.dossier_tombstone (batch_id);

CREATE TABLE core.fact_feedback (
    ma_pakn text PRIMARY KEY,
    unit_code text,
    ma_ho_so text,
    kind text,
    received_at timestamptz,
    deadline_at timestamptz,
    handled_at timestamptz,
    satisfied smallint,
    source_updated_at timestamptz NOT NULL,
    batch_id bigint NOT NULL
);
CREATE INDEX fact_feedback_received_idx ON core.fact_feedback (received_at);
-- DOSSIER_SATISFACTION leaves out the dossiers a PAKN is about.
CREATE INDEX fact_feedback_dossier_idx ON core.fact_feedback (ma_ho_so) WHERE ma_ho_so IS NOT NULL;
-- An incremental indicator refresh finds the months that changed PAKN moved.
CREATE INDEX fact_feedback_source_updated_idx ON core.fact_feedback (source_updated_at);

-- ON_TIME_766 counts the dossiers open at a period's end e: received before e and not finished
-- before e, i.e. the interval (received_at, end] contains e, where end = greatest(finished_at,
-- received_at) for a finished status (7..10) and is unbounded otherwise. Two btrees find them
-- (a GiST index on the interval cost the loads more than any other index), because most dossiers
-- are short-lived:
-- - a dossier finished within the window below of its reception can be open at e only if it was
--   received in the window before e and finished in the window after it: the reception and finish
--   indexes find it together;
-- - the rest (still open, or open longer than the window) are few, and have a small index of their
--   own, below.
-- include/sql/marts/indicator_value.sql asks both; the window and the split are said once, here.

-- The longest a dossier found through its reception may stay open: longer than most legal time
-- limits, so that the long-open index stays small; short enough that the index scans of one
-- period's end read a few weeks of dossiers. Written twice, here and in core.dossier_open_long,
-- which says why; a change of the window is a new versioned file that replaces both and runs
-- REINDEX INDEX core.fact_dossier_open_long_idx.
CREATE FUNCTION core.open_dossier_window() RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT interval '45 days' $$;

-- Whether a dossier (a fact row with a promised date, received, not refused at the desk) is still
-- open or was open longer than the window: the ones the reception and finish indexes cannot find.
-- The window is written out again here, not called: the planner inlines this function into the
-- index's predicate whenever it plans a query on the facts, also for a role without access to the
-- core schema (the BI reader, through the report views), and a call of core.open_dossier_window()
-- in the body made that fail with "permission denied for schema core".
CREATE FUNCTION core.dossier_open_long(status smallint, received_at timestamptz, finished_at timestamptz)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT status NOT IN (7, 8, 9, 10) OR greatest(finished_at, received_at) - received_at > interval '45 days'
$$;

CREATE INDEX fact_dossier_open_long_idx ON core.fact_dossier (received_at)
WHERE due_at IS NOT NULL AND received_at IS NOT NULL AND status NOT IN (1, 3)
AND core.dossier_open_long(status, received_at, finished_at);
