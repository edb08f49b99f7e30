-- The child lists of a dossier are found only by their dossier: the merge deletes a replaced
-- dossier's children by ma_ho_so, and the dossier.core checks join on it. Their primary keys
-- (ma_ho_so, position) were btrees kept up on every insert, with the text key compared under the
-- database's collation. A hash index on ma_ho_so answers the same lookups, and keeping it up
-- costs less: the five child inserts of a 66,524-dossier batch into a 1M-dossier core took 5.1 s
-- with the primary keys, 4.3 s with a btree on ma_ho_so alone, 3.2 s with the hash index (1.7 s
-- with no index at all). The uniqueness of (ma_ho_so, position), which the merge gives by
-- writing a list's positions from one record, is checked after every batch by the dossier.core
-- suite (core_child_position_unique) instead of on every row.
DO $$
DECLARE
    child text;
BEGIN
    FOREACH child IN ARRAY ARRAY['dossier_document', 'dossier_fee', 'dossier_result', 'dossier_supplement',
                                 'dossier_step'] LOOP
        EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON core.%I USING hash (ma_ho_so)', child || '_dossier_idx', child);
        EXECUTE format('ALTER TABLE core.%I DROP CONSTRAINT IF EXISTS %I', child, child || '_pkey');
    END LOOP;
END
$$;
