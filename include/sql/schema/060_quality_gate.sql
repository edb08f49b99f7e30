-- The quality gate beyond record rules (quality.md): warnings, batch rules, batch profiles for
-- the rules that compare a batch with its history, retries of records waiting for reference data,
-- and what was alerted. Idempotent: applied again whenever this file changes.

-- Why a batch was rejected (status 'rejected'), and which batch a retry batch was built from.
ALTER TABLE raw.batch ADD COLUMN IF NOT EXISTS status_reason text;

-- How an open quarantine row was closed: 'loaded_later' (a later batch loaded the same key),
-- 'retried' (copied into a retry batch; resolved_batch_id names it).
ALTER TABLE quality.quarantine ADD COLUMN IF NOT EXISTS resolution text;
CREATE INDEX IF NOT EXISTS quarantine_open_key_idx
    ON quality.quarantine (entity, record_key) WHERE resolved_at IS NULL;
CREATE INDEX IF NOT EXISTS quarantine_batch_idx ON quality.quarantine (batch_id);

ALTER TABLE quality.validation_result ADD COLUMN IF NOT EXISTS stage text;
ALTER TABLE quality.validation_result ADD COLUMN IF NOT EXISTS data_docs_url text;
CREATE INDEX IF NOT EXISTS validation_result_batch_idx ON quality.validation_result (batch_id);

-- Warnings: kept and counted, never quarantined (the record is loaded).
CREATE TABLE IF NOT EXISTS quality.warning (
    warning_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity      text        NOT NULL,
    record_key  text,
    rule        text        NOT NULL,
    detail      text        NOT NULL,
    batch_id    bigint      NOT NULL REFERENCES raw.batch,
    ordinal     integer     NOT NULL,
    warned_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (batch_id, ordinal, rule)
);
ALTER TABLE quality.run_audit ADD COLUMN IF NOT EXISTS warnings integer NOT NULL DEFAULT 0;

-- What a batch looked like (records, records per unit, non-null share per column): batch rules
-- compare a batch with the profiles of earlier loaded batches of the same entity.
CREATE TABLE IF NOT EXISTS quality.batch_profile (
    batch_id        bigint PRIMARY KEY REFERENCES raw.batch,
    entity          text        NOT NULL,
    window_start    timestamptz,
    window_end      timestamptz,
    record_count    integer     NOT NULL,
    quarantined     integer     NOT NULL,
    unit_counts     jsonb       NOT NULL DEFAULT '{}',
    non_null_share  jsonb       NOT NULL DEFAULT '{}',
    profiled_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS batch_profile_entity_window_idx ON quality.batch_profile (entity, window_start);

-- Every batch rule evaluated, passed or not, with what it saw and the threshold it applied.
CREATE TABLE IF NOT EXISTS quality.batch_rule_result (
    batch_id    bigint      NOT NULL REFERENCES raw.batch,
    rule        text        NOT NULL,
    passed      boolean     NOT NULL,
    skipped     boolean     NOT NULL DEFAULT false,
    detail      text        NOT NULL,
    observed    jsonb,
    checked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, rule)
);

-- A retry batch (endpoint 'quality:retry') holds copies of quarantined payloads; this says where
-- each came from, so the original quarantine rows can be closed.
CREATE TABLE IF NOT EXISTS quality.retry_source (
    retry_batch_id  bigint  NOT NULL REFERENCES raw.batch,
    ordinal         integer NOT NULL,
    source_batch_id bigint  NOT NULL,
    source_ordinal  integer NOT NULL,
    PRIMARY KEY (retry_batch_id, ordinal)
);

-- Freshness alerts already sent, one per silence (keyed by the last arrival it is about).
CREATE TABLE IF NOT EXISTS quality.freshness_alert (
    entity          text        NOT NULL,
    last_arrival_at timestamptz NOT NULL,
    silent_hours    numeric     NOT NULL,
    alerted_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity, last_arrival_at)
);

-- The rows each record rule returned for the batch being loaded, computed once right after
-- staging (and committed with it, so Great Expectations sees them on its own connection). The
-- quarantine and the warnings are then written from here inside the load's transaction; GX reads
-- its verdicts from here too, so a rule's SQL runs once per batch. Transient, like all of staging.
CREATE UNLOGGED TABLE IF NOT EXISTS staging.rule_hit (
    batch_id    bigint  NOT NULL,
    check_id    text    NOT NULL,   -- suite:index of the expectation
    rule        text    NOT NULL,
    kind        text    NOT NULL CHECK (kind IN ('quarantine', 'warning')),
    ordinal     integer NOT NULL,
    record_key  text,
    detail      text
);
CREATE INDEX IF NOT EXISTS rule_hit_batch_idx ON staging.rule_hit (batch_id, check_id);
