-- The staged dossiers' index on (dossier_code, source_updated_at), made in 020_staging.sql for the
-- uniqueness rule (one MaHoSo, one content per NgayCapNhat), was built for every batch when its
-- partitions were attached, in the extraction's transaction: 0.047 s for the largest month's
-- 66,524 dossiers. The rule does not use it: PostgreSQL answers its EXISTS with a hash semi-join
-- over the batch's partition, with or without the index (0.051-0.052 s, medians of 5), and the
-- rule queries of a load took the same time without it (0.766 s against 0.774 s, medians of 3).
-- The merge's dedupe sorts the codes by their bytes, which this index could not serve either.
--
-- Dropping an index of a parent drops it on every partition, attached batches included.
DROP INDEX IF EXISTS staging.dossier_code_idx;
