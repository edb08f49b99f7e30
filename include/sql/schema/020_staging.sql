-- staging: typed rows of the batches being loaded; transient (emptied per batch), so UNLOGGED.
-- Columns are the English names of core; the Vietnamese→English mapping lives in
-- include/sql/staging/*.sql. Each row keeps which source fields it could not read.
CREATE UNLOGGED TABLE IF NOT EXISTS staging.dossier (
    batch_id                bigint  NOT NULL,
    ordinal                 integer NOT NULL,
    dossier_code            text,
    procedure_code          text,
    procedure_name          text,
    field_code              text,
    field_name              text,
    receiving_unit_code     text,
    competent_unit_code     text,
    channel                 integer,
    applicant_type          integer,
    applicant_name_token    text,
    applicant_id_token      text,
    applicant_phone_token   text,
    applicant_email_token   text,
    applicant_address_token text,
    summary_token           text,
    submitted_at            timestamptz,
    received_at             timestamptz,
    due_at                  timestamptz,
    finished_at             timestamptz,
    returned_at             timestamptz,
    refused_at              timestamptz,
    status                  integer,
    has_digitized_component integer,
    vneid_verified          integer,
    online_payment          integer,
    synced_to_portal        integer,
    has_apology             integer,
    rating                  integer,
    is_deleted              integer,
    source_updated_at       timestamptz,
    unreadable_fields       text[]  NOT NULL,
    payload_hash            text    NOT NULL,
    PRIMARY KEY (batch_id, ordinal)
);

-- The uniqueness rule looks up every staged code among the others.
CREATE INDEX IF NOT EXISTS dossier_code_idx ON staging.dossier (dossier_code, source_updated_at);

CREATE UNLOGGED TABLE IF NOT EXISTS staging.dossier_document (
    batch_id bigint, ordinal integer, position integer, component_code text, file_name text,
    is_digitized integer, is_reused integer, from_citizen_store integer
);
CREATE UNLOGGED TABLE IF NOT EXISTS staging.dossier_fee (
    batch_id bigint, ordinal integer, position integer, fee_code text, fee_name text,
    amount numeric, collection_method text, amount_unreadable boolean
);
CREATE UNLOGGED TABLE IF NOT EXISTS staging.dossier_result (
    batch_id bigint, ordinal integer, position integer, result_code text, result_name text, file_url text
);
CREATE UNLOGGED TABLE IF NOT EXISTS staging.dossier_supplement (
    batch_id bigint, ordinal integer, position integer, supplement_id text,
    requested_at timestamptz, answered_at timestamptz, due_before timestamptz, due_after timestamptz,
    unreadable_fields text[]
);
CREATE UNLOGGED TABLE IF NOT EXISTS staging.dossier_step (
    batch_id bigint, ordinal integer, position integer, step_at timestamptz, status integer,
    department text, handler_token text, content_token text
);
CREATE INDEX IF NOT EXISTS dossier_document_batch_idx ON staging.dossier_document (batch_id, ordinal);
CREATE INDEX IF NOT EXISTS dossier_fee_batch_idx ON staging.dossier_fee (batch_id, ordinal);
CREATE INDEX IF NOT EXISTS dossier_result_batch_idx ON staging.dossier_result (batch_id, ordinal);
CREATE INDEX IF NOT EXISTS dossier_supplement_batch_idx ON staging.dossier_supplement (batch_id, ordinal);
CREATE INDEX IF NOT EXISTS dossier_step_batch_idx ON staging.dossier_step (batch_id, ordinal);

CREATE UNLOGGED TABLE IF NOT EXISTS staging.unit (
    batch_id bigint, ordinal integer, unit_code text, unit_name text, unit_type text, parent_code text,
    gso_code text, valid_from date, valid_to date, successor_codes text[], source_updated_at timestamptz
);
CREATE UNLOGGED TABLE IF NOT EXISTS staging.procedure (
    batch_id bigint, ordinal integer, procedure_code text, procedure_name text, field_code text,
    field_name text, levels text[], time_limit numeric, time_limit_unit text, has_fee boolean,
    has_paper_result boolean, online_level text, source_updated_at timestamptz
);
CREATE UNLOGGED TABLE IF NOT EXISTS staging.feedback (
    batch_id bigint, ordinal integer, feedback_code text, unit_code text, dossier_code text, kind text,
    received_at timestamptz, deadline_at timestamptz, handled_at timestamptz, satisfied integer,
    source_updated_at timestamptz, unreadable_fields text[]
);
