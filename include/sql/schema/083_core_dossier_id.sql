-- Dossiers get a surrogate key, dossier_id, and their child lists are keyed by (dossier_id, position)
-- instead of (ma_ho_so, position).
--
-- Why: the child lists are most of the rows a load writes (563,851 typed rows for the 66,524
-- dossiers of the largest month), and each row goes into its table's primary key. Keyed by the
-- source's text code, new rows land all over that index (codes are not in arrival order), which
-- grows fragmented (the step list's key: 261 MB for 3.8M rows, against 113 MB keyed by the id);
-- keyed by an id handed out in arrival order, new rows are appended at the index's right edge.
-- Measured on the 1M-dossier benchmark warehouse, the batch's five child inserts: 2.1-2.7 s
-- instead of 3.2-3.5 s (docs/performance.md).
--
-- The id is the warehouse's own, not the source's: a dossier keeps it when a newer version
-- replaces it, and gets it back if it is deleted (the tombstone keeps it) and then revived. The
-- child lists keep ma_ho_so as a plain column, so queries that join them to the facts by code
-- still work; the merge and the invariant checks use the id.
--
-- On an existing warehouse this rewrites the child lists: 2 min 9 s for the benchmark's 1M
-- dossiers (about 7 child rows each), measured. The UPDATE leaves the old row versions dead; on a
-- server without autovacuum, run VACUUM ANALYZE on core.dossier_* afterwards.
CREATE SEQUENCE IF NOT EXISTS core.dossier_id_seq AS bigint;

-- The default serves writers other than the merge (test fixtures); the merge hands ids out itself,
-- because the child rows need them before the fact row exists.
ALTER TABLE core.fact_dossier ADD COLUMN IF NOT EXISTS dossier_id bigint NOT NULL DEFAULT nextval('core.dossier_id_seq');
ALTER SEQUENCE core.dossier_id_seq OWNED BY core.fact_dossier.dossier_id;
CREATE UNIQUE INDEX IF NOT EXISTS fact_dossier_dossier_id_idx ON core.fact_dossier (dossier_id);

-- The id the dossier had when it was deleted (NULL for tombstones older than the ids): the
-- invariant check finds a deleted dossier's left-over child rows by it.
ALTER TABLE core.dossier_tombstone ADD COLUMN IF NOT EXISTS dossier_id bigint;

DO $$
DECLARE
    child text;
BEGIN
    FOREACH child IN ARRAY ARRAY['dossier_document', 'dossier_fee', 'dossier_result', 'dossier_supplement',
                                 'dossier_step'] LOOP
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                       WHERE table_schema = 'core' AND table_name = child AND column_name = 'dossier_id') THEN
            EXECUTE format('ALTER TABLE core.%I ADD COLUMN dossier_id bigint', child);
            EXECUTE format('UPDATE core.%I AS c SET dossier_id = f.dossier_id FROM core.fact_dossier AS f '
                           'WHERE f.ma_ho_so = c.ma_ho_so', child);
            -- A child row without its dossier (none can exist: the dossier.core suite checks it
            -- after every batch) stops the migration here, with the table named.
            EXECUTE format('ALTER TABLE core.%I ALTER COLUMN dossier_id SET NOT NULL', child);
            EXECUTE format('ALTER TABLE core.%I DROP CONSTRAINT %I', child, child || '_pkey');
            EXECUTE format('ALTER TABLE core.%I ADD PRIMARY KEY (dossier_id, position)', child);
        END IF;
        -- The sample the other columns of the child lists have (082_core_statistics.sql): with
        -- the default target, the loads' ANALYZE of the child lists took 2.4 times as long.
        EXECUTE format('ALTER TABLE core.%I ALTER COLUMN dossier_id SET STATISTICS 10', child);
    END LOOP;
END
$$;
