-- raw: every record as extracted (personal data already pseudonymized), append-only, so any
-- window can be replayed without calling the source. A batch is one extraction of one endpoint
-- for one window; its records land in the same transaction that marks it 'landed'.
CREATE TABLE IF NOT EXISTS raw.batch (
    batch_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity          text        NOT NULL CHECK (entity IN ('unit', 'procedure', 'dossier', 'feedback')),
    endpoint        text        NOT NULL,
    window_start    timestamptz,
    window_end      timestamptz,
    extracted_at    timestamptz NOT NULL DEFAULT now(),
    record_count    integer     NOT NULL,
    reported_total  integer,
    checksum        text        NOT NULL,
    status          text        NOT NULL DEFAULT 'landed'
                    CHECK (status IN ('landed', 'loaded', 'rejected')),
    airflow_run_id  text,
    loaded_at       timestamptz
);
CREATE INDEX IF NOT EXISTS batch_entity_window_idx ON raw.batch (entity, window_start);

CREATE TABLE IF NOT EXISTS raw.record (
    batch_id    bigint  NOT NULL REFERENCES raw.batch,
    ordinal     integer NOT NULL,
    record_key  text,
    payload     jsonb   NOT NULL,
    PRIMARY KEY (batch_id, ordinal)
);
