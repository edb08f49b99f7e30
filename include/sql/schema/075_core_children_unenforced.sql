-- The child lists of a dossier (documents, fees, results, supplements, steps) are written only by
-- core/merge_dossier.sql, in the transaction that writes their dossier, and are checked after every
-- batch by the dossier.core suite (core_children_reference_live_facts, core_supplement_count_matches).
-- The foreign keys checked the same thing once more, row by row: on a 6,500-dossier batch they made
-- the merge's child inserts ~50 % slower (measured). The merge deletes children explicitly instead
-- of relying on ON DELETE CASCADE.
ALTER TABLE core.dossier_document   DROP CONSTRAINT IF EXISTS dossier_document_ma_ho_so_fkey;
ALTER TABLE core.dossier_fee        DROP CONSTRAINT IF EXISTS dossier_fee_ma_ho_so_fkey;
ALTER TABLE core.dossier_result     DROP CONSTRAINT IF EXISTS dossier_result_ma_ho_so_fkey;
ALTER TABLE core.dossier_supplement DROP CONSTRAINT IF EXISTS dossier_supplement_ma_ho_so_fkey;
ALTER TABLE core.dossier_step       DROP CONSTRAINT IF EXISTS dossier_step_ma_ho_so_fkey;

-- The invariant check looks up the tombstones a batch wrote.
CREATE INDEX IF NOT EXISTS dossier_tombstone_batch_idx ON core.dossier_tombstone (batch_id);

-- The invariant checks after a merge read "the fact rows this batch wrote": by index, not by
-- scanning every fact of the warehouse once per batch.
CREATE INDEX IF NOT EXISTS fact_dossier_batch_idx ON core.fact_dossier (batch_id);
