-- Landing speed (issue 3).
-- payload_hash: md5 of the payload as landed, computed by the extraction that already holds the
-- text; staging used to compute md5(payload::text), which re-serializes every JSONB document
-- (~10 µs a record, measured). Rows landed before this column existed have NULL and staging
-- falls back to the old expression for them.
ALTER TABLE raw.record ADD COLUMN IF NOT EXISTS payload_hash text;

-- raw.record's batch is inserted by the same transaction that COPYs the records
-- (tthc.extract.extract_to_raw, the only writer of raw); the foreign key re-checked it for every
-- record of every page.
ALTER TABLE raw.record DROP CONSTRAINT IF EXISTS record_batch_id_fkey;

-- lz4 instead of pglz for the landed JSON: on this project's records it compresses about as well
-- and costs half the CPU to write (13 µs less per record, measured) and a third to read, which
-- staging does once per child list. New rows only; a server built without lz4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE raw.record ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'lz4 is not available on this server; raw.record.payload stays pglz';
END
$$;
