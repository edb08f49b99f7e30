-- A batch's documents, results and steps in staging are read only by the merge
-- (core/merge_dossier.sql), which reads each whole, with its dossiers, in a hash join: no query
-- looks them up by (batch_id, ordinal). Their indexes were built for every batch all the same, when
-- its partitions were attached, in the extraction's transaction: 0.25 s of the largest month's
-- 66,524 dossiers (0.08 s documents, 0.035 s results, 0.11-0.14 s steps; measured on the 1M
-- benchmark warehouse, with none of the three scanned by the load: pg_stat_user_indexes). The
-- staging rules look up fees and supplements per dossier, so those two keep theirs.
--
-- Dropping an index of a parent drops it on every partition, attached batches included.
DROP INDEX IF EXISTS staging.dossier_document_batch_idx;
DROP INDEX IF EXISTS staging.dossier_result_batch_idx;
DROP INDEX IF EXISTS staging.dossier_step_batch_idx;
