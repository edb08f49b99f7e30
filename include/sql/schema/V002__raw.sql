-- raw: every record as extracted (personal data already pseudonymized), append-only, so any
-- window can be replayed without calling the source. A batch is one extraction of one endpoint
-- for one window; its records land in the same transaction that marks it 'landed'.
CREATE TABLE raw.batch (
    batch_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity text NOT NULL CHECK (entity IN ('unit', 'procedure', 'dossier', 'feedback')),
    endpoint text NOT NULL,
    window_start timestamptz,
    window_end timestamptz,
    extracted_at timestamptz NOT NULL DEFAULT now(),
    record_count integer NOT NULL,
    reported_total integer,
    checksum text NOT NULL,
    status text NOT NULL DEFAULT 'landed' CHECK (status IN ('landed', 'loaded', 'rejected')),
    airflow_run_id text,
    loaded_at timestamptz,
    -- why a batch was rejected (status 'rejected'), or which batch a retry batch was built from
    status_reason text
);
CREATE INDEX batch_entity_window_idx ON raw.batch (entity, window_start);

-- No foreign key to raw.batch: the batch row is inserted by the transaction that COPYs its records
-- (tthc.extract, the only writer of raw), and a key would re-check it for every record.
CREATE TABLE raw.record (
    batch_id bigint NOT NULL,
    ordinal integer NOT NULL,
    record_key text,
    payload jsonb NOT NULL,
    -- md5 of the payload as landed, computed by the extraction, which holds the text already;
    -- NULL for records that a retry copies out of the quarantine
    payload_hash text,
    -- true when the extraction found the record plainly well shaped (tthc.staging.well_shaped):
    -- the record_shape rules (expectations/dossier.raw.json) then skip its payload. NULL (other
    -- entities, retries) and false mean "not vouched for": the rules judge the payload.
    well_shaped boolean,
    PRIMARY KEY (batch_id, ordinal)
);

-- lz4 for the landed JSON: about pglz's ratio on these records, for much less CPU to write and
-- to read. A server built without lz4 (the embedded pgserver wheel) keeps pglz.
DO $$
BEGIN
    ALTER TABLE raw.record ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'lz4 is not available on this server; raw.record.payload stays pglz';
END
$$;
