-- staging: typed rows of the batches being loaded; transient (emptied per batch), so UNLOGGED.
-- Columns are the English names of core; the Vietnamese→English mapping lives in
-- include/sql/staging/*.sql. Each row keeps which source fields it could not read.
--
-- Dossiers, the volume entity, are staged one batch per partition (the tables below are the
-- parents; a batch's partitions are UNLOGGED). Why: staging is a queue, and as one table it
-- bloated. The extraction's transaction lasts a whole month's extraction, so the rows a load
-- deleted could not be vacuumed while any extraction older than the delete was running, and the
-- files grew to the size of the whole backfill (measured after a 1M-dossier run: 2 GB of staging
-- files, 700 MB of staging.dossier, for one batch of 66,524 live rows). Every rule query and the
-- merge seq-scanned them: on that batch the rule queries took 7.0 s (2.9-3.8 s on compact
-- tables) and the VACUUMs 5.4 s. A batch's own partitions hold only its rows, and dropping them
-- gives their space back at once, whatever transactions are running.
--
-- The life of a batch's partitions (staging.open_dossier_batch, attach_dossier_batch and
-- tthc.staging.drop_batch): the extraction creates them empty and unattached in its transaction,
-- COPYs into them with no index to keep up, and attaches them just before it commits (the indexes
-- are then built in one pass each; the CHECK spares the attach a scan). The load detaches them
-- CONCURRENTLY and drops them once the batch is published or rejected. A batch typed again from
-- raw (tthc.staging.stage_from_raw) goes through the same steps.
--
-- A warehouse created before this layout has plain tables here: they are dropped (staging is
-- transient; a batch whose rows they held is typed again from raw by its load).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_class AS rel JOIN pg_namespace AS ns ON ns.oid = rel.relnamespace
               WHERE ns.nspname = 'staging' AND rel.relname = 'dossier' AND rel.relkind = 'r') THEN
        DROP TABLE staging.dossier, staging.dossier_document, staging.dossier_fee, staging.dossier_result,
                   staging.dossier_supplement, staging.dossier_step;
    END IF;
END
$$;

CREATE TABLE IF NOT EXISTS staging.dossier (
    batch_id                bigint  NOT NULL,
    ordinal                 integer NOT NULL,
    dossier_code            text,
    procedure_code          text,
    procedure_name          text,
    field_code              text,
    field_name              text,
    receiving_unit_code     text,
    competent_unit_code     text,
    channel                 integer,
    applicant_type          integer,
    applicant_name_token    text,
    applicant_id_token      text,
    applicant_phone_token   text,
    applicant_email_token   text,
    applicant_address_token text,
    summary_token           text,
    submitted_at            timestamptz,
    received_at             timestamptz,
    due_at                  timestamptz,
    finished_at             timestamptz,
    returned_at             timestamptz,
    refused_at              timestamptz,
    status                  integer,
    has_digitized_component integer,
    vneid_verified          integer,
    online_payment          integer,
    synced_to_portal        integer,
    has_apology             integer,
    rating                  integer,
    is_deleted              integer,
    source_updated_at       timestamptz,
    unreadable_fields       text[]  NOT NULL,
    payload_hash            text    NOT NULL,
    PRIMARY KEY (batch_id, ordinal)
) PARTITION BY LIST (batch_id);

CREATE TABLE IF NOT EXISTS staging.dossier_document (
    batch_id bigint NOT NULL, ordinal integer NOT NULL, position integer, component_code text, file_name text,
    is_digitized integer, is_reused integer, from_citizen_store integer
) PARTITION BY LIST (batch_id);
CREATE TABLE IF NOT EXISTS staging.dossier_fee (
    batch_id bigint NOT NULL, ordinal integer NOT NULL, position integer, fee_code text, fee_name text,
    amount numeric, collection_method text, amount_unreadable boolean
) PARTITION BY LIST (batch_id);
CREATE TABLE IF NOT EXISTS staging.dossier_result (
    batch_id bigint NOT NULL, ordinal integer NOT NULL, position integer, result_code text, result_name text,
    file_url text
) PARTITION BY LIST (batch_id);
CREATE TABLE IF NOT EXISTS staging.dossier_supplement (
    batch_id bigint NOT NULL, ordinal integer NOT NULL, position integer, supplement_id text,
    requested_at timestamptz, answered_at timestamptz, due_before timestamptz, due_after timestamptz,
    unreadable_fields text[]
) PARTITION BY LIST (batch_id);
CREATE TABLE IF NOT EXISTS staging.dossier_step (
    batch_id bigint NOT NULL, ordinal integer NOT NULL, position integer, step_at timestamptz, status integer,
    department text, handler_token text, content_token text
) PARTITION BY LIST (batch_id);
-- The staging rules look up a dossier's fees and supplements; the other child lists are read whole,
-- by the merge, and have no index (086_staging_child_indexes.sql).
CREATE INDEX IF NOT EXISTS dossier_fee_batch_idx ON staging.dossier_fee (batch_id, ordinal);
CREATE INDEX IF NOT EXISTS dossier_supplement_batch_idx ON staging.dossier_supplement (batch_id, ordinal);

-- The staging tables of dossiers, parents first, and the name of a batch's partition of one: the
-- one naming in SQL (tthc.staging.batch_table is the one in Python; tests/tthc/test_staging.py
-- holds the two, and this list and tthc.staging.LAYOUT, to the same answers).
CREATE OR REPLACE FUNCTION staging.dossier_tables() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['dossier', 'dossier_document', 'dossier_fee', 'dossier_result', 'dossier_supplement',
                 'dossier_step']
$$;

CREATE OR REPLACE FUNCTION staging.dossier_partition(parent text, batch bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT parent || '_b' || batch
$$;

-- The batches that have a staging partition left, attached or not (a drop killed half way leaves
-- some of a batch's tables): the tables whose name is the partition name of their trailing number.
CREATE OR REPLACE FUNCTION staging.dossier_batches_staged() RETURNS SETOF bigint LANGUAGE sql STABLE AS $$
    SELECT DISTINCT candidate.batch
    FROM pg_class AS rel
    JOIN pg_namespace AS ns ON ns.oid = rel.relnamespace AND ns.nspname = 'staging'
    CROSS JOIN LATERAL (SELECT substring(rel.relname FROM '([0-9]{1,18})$')::bigint AS batch) AS candidate
    CROSS JOIN unnest(staging.dossier_tables()) AS parent
    WHERE rel.relkind = 'r' AND rel.relname = staging.dossier_partition(parent, candidate.batch)
$$;

-- A batch's tables, empty and not yet attached: only the caller's transaction sees or locks them.
-- Their columns are read from the catalogue, not copied with LIKE: LIKE would hold a lock on the
-- parent until the extraction commits, and a load's detach waits for every holder of one
-- (measured: 16 s a batch of waiting in a 1M-dossier run).
CREATE OR REPLACE FUNCTION staging.open_dossier_batch(batch bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    parent text;
    columns text;
BEGIN
    FOREACH parent IN ARRAY staging.dossier_tables() LOOP
        SELECT string_agg(format('%I %s%s', attname, format_type(atttypid, atttypmod),
                                 CASE WHEN attnotnull THEN ' NOT NULL' END), ', ' ORDER BY attnum)
        INTO columns
        FROM pg_attribute
        WHERE attrelid = format('staging.%I', parent)::regclass AND attnum > 0 AND NOT attisdropped;
        EXECUTE format('CREATE UNLOGGED TABLE IF NOT EXISTS staging.%I (%s, CHECK (batch_id = %s))',
                       staging.dossier_partition(parent, batch), columns, batch);
    END LOOP;
END
$$;

-- Attaching takes SHARE UPDATE EXCLUSIVE on the parents (readers and writers of other batches go
-- on) until the caller commits: callers attach last, just before they commit.
CREATE OR REPLACE FUNCTION staging.attach_dossier_batch(batch bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    parent text;
BEGIN
    FOREACH parent IN ARRAY staging.dossier_tables() LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_inherits
                       WHERE inhrelid = format('staging.%I', staging.dossier_partition(parent, batch))::regclass) THEN
            EXECUTE format('ALTER TABLE staging.%I ATTACH PARTITION staging.%I FOR VALUES IN (%s)',
                           parent, staging.dossier_partition(parent, batch), batch);
        END IF;
    END LOOP;
END
$$;

CREATE UNLOGGED TABLE IF NOT EXISTS staging.unit (
    batch_id bigint, ordinal integer, unit_code text, unit_name text, unit_type text, parent_code text,
    gso_code text, valid_from date, valid_to date, successor_codes text[], source_updated_at timestamptz
);
CREATE UNLOGGED TABLE IF NOT EXISTS staging.procedure (
    batch_id bigint, ordinal integer, procedure_code text, procedure_name text, field_code text,
    field_name text, levels text[], time_limit numeric, time_limit_unit text, has_fee boolean,
    has_paper_result boolean, online_level text, source_updated_at timestamptz
);
CREATE UNLOGGED TABLE IF NOT EXISTS staging.feedback (
    batch_id bigint, ordinal integer, feedback_code text, unit_code text, dossier_code text, kind text,
    received_at timestamptz, deadline_at timestamptz, handled_at timestamptz, satisfied integer,
    source_updated_at timestamptz, unreadable_fields text[]
);
