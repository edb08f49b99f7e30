-- quality: what was set aside and why, what the suites and the batch rules said, the books of every
-- batch, and what was alerted.

-- A record a rule returned, with its pseudonymized payload. An open row is closed with a
-- resolution: 'loaded_later' (a later batch loaded the same key) or 'retried' (copied into a retry
-- batch, which resolved_batch_id names).
CREATE TABLE quality.quarantine (
    quarantine_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity text NOT NULL,
    record_key text,
    rule text NOT NULL,
    detail text NOT NULL,
    batch_id bigint NOT NULL REFERENCES raw.batch,
    ordinal integer NOT NULL,
    payload jsonb NOT NULL,
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    resolved_batch_id bigint,
    resolution text,
    UNIQUE (batch_id, ordinal, rule)
);
CREATE INDEX quarantine_open_idx ON quality.quarantine (entity, rule) WHERE resolved_at IS NULL;
CREATE INDEX quarantine_open_key_idx ON quality.quarantine (entity, record_key) WHERE resolved_at IS NULL;
CREATE INDEX quarantine_batch_idx ON quality.quarantine (batch_id);

-- Every suite's run: its statistics and results as Great Expectations gave them, and its Data Docs page.
CREATE TABLE quality.validation_result (
    validation_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id bigint,
    suite text NOT NULL,
    success boolean NOT NULL,
    statistics jsonb NOT NULL,
    results jsonb NOT NULL,
    validated_at timestamptz NOT NULL DEFAULT now(),
    stage text,
    data_docs_url text
);
CREATE INDEX validation_result_batch_idx ON quality.validation_result (batch_id);

-- extracted = loaded + quarantined for every batch; "unchanged" counts the loaded records that
-- changed nothing (already there, or older than what core holds); warnings are kept and counted.
CREATE TABLE quality.run_audit (
    batch_id bigint PRIMARY KEY REFERENCES raw.batch,
    entity text NOT NULL,
    extracted integer NOT NULL,
    loaded integer NOT NULL,
    unchanged integer NOT NULL,
    quarantined integer NOT NULL,
    audited_at timestamptz NOT NULL DEFAULT now(),
    warnings integer NOT NULL DEFAULT 0,
    CONSTRAINT every_record_accounted_for CHECK (extracted = loaded + quarantined),
    CONSTRAINT unchanged_within_loaded CHECK (unchanged <= loaded)
);

-- Per unit and day: what the source says it holds against what the warehouse holds.
CREATE TABLE quality.reconciliation (
    checked_at timestamptz NOT NULL,
    unit_code text NOT NULL,
    day date NOT NULL,
    source_received integer NOT NULL,
    warehouse_received integer NOT NULL,
    source_finished integer NOT NULL,
    warehouse_finished integer NOT NULL,
    within_tolerance boolean NOT NULL,
    PRIMARY KEY (checked_at, unit_code, day)
);

-- Warnings: kept and counted, never quarantined (the record is loaded).
CREATE TABLE quality.warning (
    warning_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity text NOT NULL,
    record_key text,
    rule text NOT NULL,
    detail text NOT NULL,
    batch_id bigint NOT NULL REFERENCES raw.batch,
    ordinal integer NOT NULL,
    warned_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (batch_id, ordinal, rule)
);

-- What a batch looked like (records, records per unit, non-null share per column): batch rules
-- compare a batch with the profiles of earlier loaded batches of the same entity.
CREATE TABLE quality.batch_profile (
    batch_id bigint PRIMARY KEY REFERENCES raw.batch,
    entity text NOT NULL,
    window_start timestamptz,
    window_end timestamptz,
    record_count integer NOT NULL,
    quarantined integer NOT NULL,
    unit_counts jsonb NOT NULL DEFAULT '{}',
    non_null_share jsonb NOT NULL DEFAULT '{}',
    profiled_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX batch_profile_entity_window_idx ON quality.batch_profile (entity, window_start);

-- Every batch rule evaluated, passed or not, with what it saw and the threshold it applied.
CREATE TABLE quality.batch_rule_result (
    batch_id bigint NOT NULL REFERENCES raw.batch,
    rule text NOT NULL,
    passed boolean NOT NULL,
    skipped boolean NOT NULL DEFAULT FALSE,
    detail text NOT NULL,
    observed jsonb,
    checked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, rule)
);

-- A retry batch (endpoint 'quality:retry') holds copies of quarantined payloads; this says where
-- each came from, so the original quarantine rows can be closed.
CREATE TABLE quality.retry_source (
    retry_batch_id bigint NOT NULL REFERENCES raw.batch,
    ordinal integer NOT NULL,
    source_batch_id bigint NOT NULL,
    source_ordinal integer NOT NULL,
    PRIMARY KEY (retry_batch_id, ordinal)
);

-- Freshness alerts already sent, one per silence (keyed by the last arrival it is about).
CREATE TABLE quality.freshness_alert (
    entity text NOT NULL,
    last_arrival_at timestamptz NOT NULL,
    silent_hours numeric NOT NULL,
    alerted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity, last_arrival_at)
);
