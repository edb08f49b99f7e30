-- core: the current state. Dimensions keep history (SCD type 2: one row per version, the
-- current one with row_valid_to NULL); facts hold one row per live dossier.

CREATE TABLE IF NOT EXISTS core.dim_unit (
    unit_version_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_code         text        NOT NULL,
    unit_name         text        NOT NULL,
    unit_type         text        NOT NULL,
    parent_code       text,
    gso_code          text,
    valid_from        date,
    valid_to          date,
    successor_codes   text[]      NOT NULL DEFAULT '{}',
    source_updated_at timestamptz,
    row_valid_from    timestamptz NOT NULL,
    row_valid_to      timestamptz,
    batch_id          bigint      NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS dim_unit_current_idx ON core.dim_unit (unit_code) WHERE row_valid_to IS NULL;

-- Which unit took over which on a reorganisation (2025-07-01: many-to-many).
CREATE TABLE IF NOT EXISTS core.unit_lineage (
    predecessor_code text NOT NULL,
    successor_code   text NOT NULL,
    effective_date   date NOT NULL,
    PRIMARY KEY (predecessor_code, successor_code)
);

-- Every unit with every unit above it (and itself, depth 0), for roll-ups.
CREATE TABLE IF NOT EXISTS core.unit_closure (
    ancestor_code   text    NOT NULL,
    descendant_code text    NOT NULL,
    depth           integer NOT NULL,
    PRIMARY KEY (ancestor_code, descendant_code)
);
CREATE INDEX IF NOT EXISTS unit_closure_descendant_idx ON core.unit_closure (descendant_code);

CREATE TABLE IF NOT EXISTS core.dim_procedure (
    procedure_version_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    procedure_code    text        NOT NULL,
    procedure_name    text        NOT NULL,
    field_code        text,
    field_name        text,
    levels            text[]      NOT NULL DEFAULT '{}',
    time_limit        numeric,
    time_limit_unit   text,
    has_fee           boolean     NOT NULL,
    has_paper_result  boolean     NOT NULL,
    online_level      text,
    source_updated_at timestamptz,
    row_valid_from    timestamptz NOT NULL,
    row_valid_to      timestamptz,
    batch_id          bigint      NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS dim_procedure_current_idx
    ON core.dim_procedure (procedure_code) WHERE row_valid_to IS NULL;

CREATE TABLE IF NOT EXISTS core.dim_date (
    day            date    PRIMARY KEY,
    is_working_day boolean NOT NULL,
    holiday_name   text,
    lunar_date     text    NOT NULL,
    source         text    NOT NULL
);

CREATE TABLE IF NOT EXISTS core.fact_dossier (
    ma_ho_so                  text PRIMARY KEY,
    procedure_code            text,
    procedure_name            text,
    field_code                text,
    field_name                text,
    receiving_unit_code       text,
    competent_unit_code       text,
    channel                   smallint NOT NULL,  -- 1 in person (also when the source sent none), 2 online, 3 post
    applicant_type            smallint,
    applicant_name_token      text,
    applicant_id_token        text,
    applicant_phone_token     text,
    applicant_email_token     text,
    applicant_address_token   text,
    summary_token             text,
    submitted_at              timestamptz,
    received_at               timestamptz,
    due_at                    timestamptz,
    finished_at               timestamptz,
    returned_at               timestamptz,
    refused_at                timestamptz,
    status                    smallint NOT NULL,
    has_digitized_component   boolean  NOT NULL,
    vneid_verified            boolean  NOT NULL,
    online_payment            smallint NOT NULL,
    synced_to_portal          boolean  NOT NULL,
    has_apology               boolean  NOT NULL,
    rating                    smallint,
    -- Derived once at merge time from the child lists, so indicators never re-scan them.
    supplement_count          integer  NOT NULL,
    supplement_pause          interval NOT NULL,
    open_supplement_at        timestamptz,
    has_positive_fee          boolean  NOT NULL,
    has_electronic_result     boolean  NOT NULL,
    has_reused_component      boolean  NOT NULL,
    has_citizen_store_component boolean NOT NULL,
    end_adjusted_at           timestamptz,
    timeliness                text CHECK (timeliness IN ('early', 'on_time', 'late')),
    source_updated_at         timestamptz NOT NULL,
    batch_id                  bigint   NOT NULL,
    merged_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS fact_dossier_received_idx ON core.fact_dossier (received_at);
CREATE INDEX IF NOT EXISTS fact_dossier_finished_idx ON core.fact_dossier (finished_at);

-- The child lists of a dossier. Created keyed by (ma_ho_so, position); 083_core_dossier_id.sql
-- keys them by (dossier_id, position), the warehouse's own id of the dossier, and says why.
CREATE TABLE IF NOT EXISTS core.dossier_document (
    ma_ho_so text NOT NULL REFERENCES core.fact_dossier ON DELETE CASCADE,
    position integer NOT NULL, component_code text, file_name text,
    is_digitized boolean, is_reused boolean, from_citizen_store boolean,
    PRIMARY KEY (ma_ho_so, position)
);
CREATE TABLE IF NOT EXISTS core.dossier_fee (
    ma_ho_so text NOT NULL REFERENCES core.fact_dossier ON DELETE CASCADE,
    position integer NOT NULL, fee_code text, fee_name text, amount numeric, collection_method text,
    PRIMARY KEY (ma_ho_so, position)
);
CREATE TABLE IF NOT EXISTS core.dossier_result (
    ma_ho_so text NOT NULL REFERENCES core.fact_dossier ON DELETE CASCADE,
    position integer NOT NULL, result_code text, result_name text, file_url text,
    PRIMARY KEY (ma_ho_so, position)
);
CREATE TABLE IF NOT EXISTS core.dossier_supplement (
    ma_ho_so text NOT NULL REFERENCES core.fact_dossier ON DELETE CASCADE,
    position integer NOT NULL, supplement_id text, requested_at timestamptz, answered_at timestamptz,
    due_before timestamptz, due_after timestamptz,
    PRIMARY KEY (ma_ho_so, position)
);
CREATE TABLE IF NOT EXISTS core.dossier_step (
    ma_ho_so text NOT NULL REFERENCES core.fact_dossier ON DELETE CASCADE,
    position integer NOT NULL, step_at timestamptz, status smallint, department text,
    handler_token text, content_token text,
    PRIMARY KEY (ma_ho_so, position)
);

-- A dossier deleted in the source (DaXoa = 1) leaves the facts but is remembered, so an older
-- version arriving late cannot bring it back.
CREATE TABLE IF NOT EXISTS core.dossier_tombstone (
    ma_ho_so          text PRIMARY KEY,
    source_updated_at timestamptz NOT NULL,
    batch_id          bigint NOT NULL,
    deleted_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS core.fact_feedback (
    ma_pakn           text PRIMARY KEY,
    unit_code         text,
    ma_ho_so          text,
    kind              text,
    received_at       timestamptz,
    deadline_at       timestamptz,
    handled_at        timestamptz,
    satisfied         smallint,
    source_updated_at timestamptz NOT NULL,
    batch_id          bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS fact_feedback_received_idx ON core.fact_feedback (received_at);
