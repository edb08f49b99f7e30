-- The life cycle of a dossier batch's own staging partitions (include/sql/schema/V003__staging.sql
-- says why batches have them): opened and attached by the extraction, detached and dropped by the
-- load (tthc.staging).

-- The staging tables of dossiers, parents first, and the name of a batch's partition of one: the
-- one naming in SQL (tthc.staging has the one in Python; the staging tests hold the two, and this
-- list and the Python layout, to the same answers).
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
-- parent until the extraction commits, and every load's detach would wait for it.
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
