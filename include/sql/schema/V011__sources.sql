-- Several source systems feed one warehouse (include/reference/sources.yaml, docs/sources.md).
-- A dossier code, a PAKN code and a procedure's time limit and fee are the source's own: their keys
-- gain the source's id. Unit codes are national and stay keys on their own; a unit remembers the
-- source whose list it came from, so a second source sending it otherwise is an error, not an
-- overwrite. Every batch, and what the quality gate writes of one, names its source.
--
-- The column defaults name the first source of the project's history, the one every row written
-- before this migration came from. The pipeline's writers always name a batch's source; the
-- defaults keep older rows and hand-built test rows valid.

-- The configured sources as the warehouse last saw them (tthc.sources, written by every migrate
-- task): what BI joins source ids to, and a retired source's span of service.
CREATE TABLE core.source (
    source_id text PRIMARY KEY,
    source_name text NOT NULL,
    conn_id text NOT NULL,
    active_from date,
    active_to date,
    configured_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE raw.batch ADD COLUMN source_id text NOT NULL DEFAULT 'lai_chau';
DROP INDEX raw.batch_entity_window_idx;
CREATE INDEX batch_source_entity_window_idx ON raw.batch (source_id, entity, window_start);

ALTER TABLE core.fact_dossier ADD COLUMN source_id text NOT NULL DEFAULT 'lai_chau';
ALTER TABLE core.fact_dossier DROP CONSTRAINT fact_dossier_pkey;
ALTER TABLE core.fact_dossier ADD PRIMARY KEY (source_id, ma_ho_so);

ALTER TABLE core.dossier_tombstone ADD COLUMN source_id text NOT NULL DEFAULT 'lai_chau';
ALTER TABLE core.dossier_tombstone DROP CONSTRAINT dossier_tombstone_pkey;
ALTER TABLE core.dossier_tombstone ADD PRIMARY KEY (source_id, ma_ho_so);

ALTER TABLE core.fact_feedback ADD COLUMN source_id text NOT NULL DEFAULT 'lai_chau';
ALTER TABLE core.fact_feedback DROP CONSTRAINT fact_feedback_pkey;
ALTER TABLE core.fact_feedback ADD PRIMARY KEY (source_id, ma_pakn);
DROP INDEX core.fact_feedback_dossier_idx;
CREATE INDEX fact_feedback_dossier_idx ON core.fact_feedback (source_id, ma_ho_so) WHERE ma_ho_so IS NOT NULL;

-- Provinces set their own time limits and fees for the same national procedure code.
ALTER TABLE core.dim_procedure ADD COLUMN source_id text NOT NULL DEFAULT 'lai_chau';
DROP INDEX core.dim_procedure_current_idx;
CREATE UNIQUE INDEX dim_procedure_current_idx ON core.dim_procedure (source_id, procedure_code)
WHERE row_valid_to IS NULL;

ALTER TABLE core.dim_unit ADD COLUMN source_id text NOT NULL DEFAULT 'lai_chau';

ALTER TABLE quality.quarantine ADD COLUMN source_id text NOT NULL DEFAULT 'lai_chau';
DROP INDEX quality.quarantine_open_key_idx;
CREATE INDEX quarantine_open_key_idx ON quality.quarantine (source_id, entity, record_key)
WHERE resolved_at IS NULL;
ALTER TABLE quality.warning ADD COLUMN source_id text NOT NULL DEFAULT 'lai_chau';
ALTER TABLE quality.run_audit ADD COLUMN source_id text NOT NULL DEFAULT 'lai_chau';
ALTER TABLE quality.batch_profile ADD COLUMN source_id text NOT NULL DEFAULT 'lai_chau';
DROP INDEX quality.batch_profile_entity_window_idx;
CREATE INDEX batch_profile_source_entity_window_idx ON quality.batch_profile (source_id, entity, window_start);

ALTER TABLE quality.reconciliation ADD COLUMN source_id text NOT NULL DEFAULT 'lai_chau';
ALTER TABLE quality.reconciliation DROP CONSTRAINT reconciliation_pkey;
ALTER TABLE quality.reconciliation ADD PRIMARY KEY (checked_at, source_id, unit_code, day);

ALTER TABLE quality.freshness_alert ADD COLUMN source_id text NOT NULL DEFAULT 'lai_chau';
ALTER TABLE quality.freshness_alert DROP CONSTRAINT freshness_alert_pkey;
ALTER TABLE quality.freshness_alert ADD PRIMARY KEY (source_id, entity, last_arrival_at);

-- Dossier codes overlap between sources: the worklists are keyed by both.
ALTER TABLE mart.watchlist ADD COLUMN source_id text NOT NULL DEFAULT 'lai_chau';
ALTER TABLE mart.watchlist DROP CONSTRAINT watchlist_pkey;
ALTER TABLE mart.watchlist ADD PRIMARY KEY (source_id, ma_ho_so);
ALTER TABLE mart.late_without_apology ADD COLUMN source_id text NOT NULL DEFAULT 'lai_chau';
ALTER TABLE mart.late_without_apology DROP CONSTRAINT late_without_apology_pkey;
ALTER TABLE mart.late_without_apology ADD PRIMARY KEY (source_id, ma_ho_so);

-- Lets a merge stop with a message of its own (core/merge_unit.sql: a unit two sources describe
-- differently).
CREATE FUNCTION core.raise_error(message text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', message USING ERRCODE = 'data_exception';
END
$$;

-- The nation above the provinces, when more than one is loaded (core/merge_unit.sql).
INSERT INTO mart.unit_type_label (unit_type, label_vi, plural_vi) VALUES ('QUOC_GIA', 'Cả nước', 'cả nước');
