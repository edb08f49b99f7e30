-- quality: what was set aside and why, what the suites said, and the books of every batch.
CREATE TABLE IF NOT EXISTS quality.quarantine (
    quarantine_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity            text        NOT NULL,
    record_key        text,
    rule              text        NOT NULL,
    detail            text        NOT NULL,
    batch_id          bigint      NOT NULL REFERENCES raw.batch,
    ordinal           integer     NOT NULL,
    payload           jsonb       NOT NULL,
    quarantined_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at       timestamptz,
    resolved_batch_id bigint,
    UNIQUE (batch_id, ordinal, rule)
);
CREATE INDEX IF NOT EXISTS quarantine_open_idx ON quality.quarantine (entity, rule) WHERE resolved_at IS NULL;

CREATE TABLE IF NOT EXISTS quality.validation_result (
    validation_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id      bigint,
    suite         text        NOT NULL,
    success       boolean     NOT NULL,
    statistics    jsonb       NOT NULL,
    results       jsonb       NOT NULL,
    validated_at  timestamptz NOT NULL DEFAULT now()
);

-- extracted = loaded + quarantined for every batch (quality.md); "unchanged" counts the loaded
-- records that changed nothing (already there, or older than what core holds).
CREATE TABLE IF NOT EXISTS quality.run_audit (
    batch_id     bigint PRIMARY KEY REFERENCES raw.batch,
    entity       text        NOT NULL,
    extracted    integer     NOT NULL,
    loaded       integer     NOT NULL,
    unchanged    integer     NOT NULL,
    quarantined  integer     NOT NULL,
    audited_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT every_record_accounted_for CHECK (extracted = loaded + quarantined),
    CONSTRAINT unchanged_within_loaded CHECK (unchanged <= loaded)
);
