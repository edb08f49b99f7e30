-- staging: typed rows of the batches being loaded; transient, so UNLOGGED. Columns are the English
-- names of core (the mapping from the source's Vietnamese fields is tthc.staging for dossiers and
-- include/sql/staging/*.sql for the other entities). Each row keeps which source fields it could
-- not read.
--
-- Dossiers, the volume entity, are staged one batch per partition: the tables below are the
-- parents, and each batch has UNLOGGED partitions of its own. Staging is a queue; as one table it
-- bloated while long extractions kept the rows loads had deleted from being vacuumed, and every
-- rule and merge scanned the dead rows. Dropping a batch's partitions gives their space back at
-- once, whatever transactions are running.
--
-- The life of a batch's partitions (staging.open_dossier_batch and staging.attach_dossier_batch in
-- staging/functions/R__staging_dossier_partitions.sql, dropped by tthc.staging): the extraction
-- creates them empty and unattached in its transaction, COPYs into them with no index to keep up,
-- and attaches them just before it commits (each index is then built in one pass; the CHECK spares
-- the attach a scan). The load detaches them CONCURRENTLY and drops them once the batch is
-- published or rejected. A batch typed again from raw goes through the same steps.
CREATE TABLE staging.dossier (
    batch_id bigint NOT NULL,
    ordinal integer NOT NULL,
    dossier_code text,
    procedure_code text,
    procedure_name text,
    field_code text,
    field_name text,
    receiving_unit_code text,
    competent_unit_code text,
    channel integer,
    applicant_type integer,
    applicant_name_token text,
    applicant_id_token text,
    applicant_phone_token text,
    applicant_email_token text,
    applicant_address_token text,
    summary_token text,
    submitted_at timestamptz,
    received_at timestamptz,
    due_at timestamptz,
    finished_at timestamptz,
    returned_at timestamptz,
    refused_at timestamptz,
    status integer,
    has_digitized_component integer,
    vneid_verified integer,
    online_payment integer,
    synced_to_portal integer,
    has_apology integer,
    rating integer,
    is_deleted integer,
    source_updated_at timestamptz,
    unreadable_fields text[] NOT NULL,
    payload_hash text NOT NULL,
    PRIMARY KEY (batch_id, ordinal)
) PARTITION BY LIST (batch_id);

CREATE TABLE staging.dossier_document (
    batch_id bigint NOT NULL, ordinal integer NOT NULL, position integer, component_code text, file_name text,
    is_digitized integer, is_reused integer, from_citizen_store integer
) PARTITION BY LIST (batch_id);
CREATE TABLE staging.dossier_fee (
    batch_id bigint NOT NULL, ordinal integer NOT NULL, position integer, fee_code text, fee_name text,
    amount numeric, collection_method text, amount_unreadable boolean
) PARTITION BY LIST (batch_id);
CREATE TABLE staging.dossier_result (
    batch_id bigint NOT NULL, ordinal integer NOT NULL, position integer, result_code text, result_name text,
    file_url text
) PARTITION BY LIST (batch_id);
CREATE TABLE staging.dossier_supplement (
    batch_id bigint NOT NULL, ordinal integer NOT NULL, position integer, supplement_id text,
    requested_at timestamptz, answered_at timestamptz, due_before timestamptz, due_after timestamptz,
    unreadable_fields text[]
) PARTITION BY LIST (batch_id);
CREATE TABLE staging.dossier_step (
    batch_id bigint NOT NULL, ordinal integer NOT NULL, position integer, step_at timestamptz, status integer,
    department text, handler_token text, content_token text
) PARTITION BY LIST (batch_id);

-- The staging rules look a dossier's fees and supplements up. The documents, results and steps
-- are read only whole, by the merge, so they have no index: it would be built for every batch, in
-- the extraction's transaction, for nothing. An index of a parent is made on every partition.
CREATE INDEX dossier_fee_batch_idx ON staging.dossier_fee (batch_id, ordinal);
CREATE INDEX dossier_supplement_batch_idx ON staging.dossier_supplement (batch_id, ordinal);

-- The other entities are small: one table each, emptied per batch.
CREATE UNLOGGED TABLE staging.unit (
    batch_id bigint, ordinal integer, unit_code text, unit_name text, unit_type text, parent_code text,
    gso_code text, valid_from date, valid_to date, successor_codes text[], source_updated_at timestamptz
);
CREATE UNLOGGED TABLE staging.procedure (
    batch_id bigint, ordinal integer, procedure_code text, procedure_name text, field_code text,
    field_name text, levels text[], time_limit numeric, time_limit_unit text, has_fee boolean,
    has_paper_result boolean, online_level text, source_updated_at timestamptz
);
CREATE UNLOGGED TABLE staging.feedback (
    batch_id bigint, ordinal integer, feedback_code text, unit_code text, dossier_code text, kind text,
    received_at timestamptz, deadline_at timestamptz, handled_at timestamptz, satisfied integer,
    source_updated_at timestamptz, unreadable_fields text[]
);

-- The rows each record rule returned for the batch being loaded, computed once right after
-- staging and committed with it, so that Great Expectations, on its own connection, reads its
-- verdicts from here and the load writes the quarantine and the warnings from here: a rule's SQL
-- runs once per batch.
CREATE UNLOGGED TABLE staging.rule_hit (
    batch_id bigint NOT NULL,
    check_id text NOT NULL,   -- suite:index of the expectation
    rule text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('quarantine', 'warning')),
    ordinal integer NOT NULL,
    record_key text,
    detail text
);
CREATE INDEX rule_hit_batch_idx ON staging.rule_hit (batch_id, check_id);
