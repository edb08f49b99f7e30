-- Merge one staged, checked batch of dossiers of source %(source_id)s into core, in the caller's
-- transaction. A dossier code is the source's own: every key below is (source_id, ma_ho_so).
-- Rules: quarantined records stay out; within the batch the newest NgayCapNhat of a code wins;
-- a version only replaces what core holds if it is newer than both the live row and the
-- tombstone (so late, older versions change nothing and a re-run writes nothing); DaXoa = 1 takes
-- the dossier out of the facts and leaves a tombstone; children are replaced with their dossier.

-- The sorts and hashes below hold one batch's keys: in memory, not in temp files.
SET LOCAL work_mem = '64MB';

-- Only the keys travel through the dedupe and the comparison with core; the facts' other columns
-- are read from staging once, by the insert.
CREATE TEMP TABLE changed_dossier ON COMMIT DROP AS
WITH accepted AS (
    SELECT
        d.batch_id,
        d.ordinal,
        d.dossier_code,
        d.source_updated_at,
        d.is_deleted,
        d.competent_unit_code
    FROM staging.dossier AS d
    WHERE d.batch_id = %(batch_id)s
        AND NOT EXISTS (
            SELECT 1 FROM quality.quarantine AS q
            WHERE q.batch_id = d.batch_id AND q.ordinal = d.ordinal AND q.resolved_at IS NULL
        )
),

-- Sorted on the codes' bytes: the database's collation (C.UTF-8 here, compared with strcoll) sorts
-- them in the same order and calls the same codes equal (a deterministic collation breaks ties by
-- the bytes), at a cost (docs/performance.md).
newest AS (
    SELECT DISTINCT ON (dossier_code COLLATE "C") *
    FROM accepted
    ORDER BY dossier_code COLLATE "C", source_updated_at DESC, ordinal DESC
)

SELECT
    newest.*,
    live.competent_unit_code AS previous_unit_code,
    live.ma_ho_so IS NOT NULL AS was_live,
    -- a dossier keeps its id across versions, and across a deletion and revival
    coalesce(live.dossier_id, tombstone.dossier_id, nextval('core.dossier_id_seq')) AS dossier_id
FROM newest
LEFT JOIN core.fact_dossier AS live ON live.source_id = %(source_id)s AND newest.dossier_code = live.ma_ho_so
LEFT JOIN core.dossier_tombstone AS tombstone
    ON tombstone.source_id = %(source_id)s AND newest.dossier_code = tombstone.ma_ho_so
WHERE newest.source_updated_at > coalesce(greatest(live.source_updated_at, tombstone.source_updated_at), '-infinity')
-- New ids are handed out in the batch's order (PostgreSQL computes nextval after this sort): the
-- inserts below read staging in that order too, so the facts and their child lists reach core's
-- keys on dossier_id already sorted (see the child inserts).
ORDER BY newest.ordinal;

-- The planner needs the size of what changed to pick index lookups over scans of core: the row
-- count, not fine histograms, which a small sample gives with the same plans.
SET LOCAL default_statistics_target = 10;
ANALYZE changed_dossier;
RESET default_statistics_target;

-- Replacing a dossier = deleting it with its child lists and inserting the new version. Only a
-- dossier that was live has children; they are found through each child table's key.
CREATE TEMP TABLE replaced_id ON COMMIT DROP AS
SELECT ARRAY(
    SELECT dossier_id FROM changed_dossier
    WHERE was_live
) AS ids;
DELETE FROM core.dossier_document
WHERE dossier_id = ANY((SELECT ids FROM replaced_id)::bigint[]);
DELETE FROM core.dossier_fee
WHERE dossier_id = ANY((SELECT ids FROM replaced_id)::bigint[]);
DELETE FROM core.dossier_result
WHERE dossier_id = ANY((SELECT ids FROM replaced_id)::bigint[]);
DELETE FROM core.dossier_supplement
WHERE dossier_id = ANY((SELECT ids FROM replaced_id)::bigint[]);
DELETE FROM core.dossier_step
WHERE dossier_id = ANY((SELECT ids FROM replaced_id)::bigint[]);
DELETE FROM core.fact_dossier
WHERE dossier_id = ANY((SELECT ids FROM replaced_id)::bigint[]);

INSERT INTO core.dossier_tombstone (source_id, ma_ho_so, source_updated_at, batch_id, dossier_id)
SELECT
    %(source_id)s,
    dossier_code,
    source_updated_at,
    batch_id,
    dossier_id
FROM changed_dossier
WHERE is_deleted = 1
ON CONFLICT (source_id, ma_ho_so) DO UPDATE
    SET source_updated_at = EXCLUDED.source_updated_at, batch_id = EXCLUDED.batch_id, deleted_at = now(),
        dossier_id = EXCLUDED.dossier_id;

DELETE FROM core.dossier_tombstone AS tombstone
USING changed_dossier AS changed
WHERE tombstone.source_id = %(source_id)s AND tombstone.ma_ho_so = changed.dossier_code AND changed.is_deleted = 0;

INSERT INTO core.fact_dossier (
    source_id, dossier_id, ma_ho_so, procedure_code, procedure_name, field_code, field_name, receiving_unit_code,
    competent_unit_code, channel, applicant_type, applicant_name_token, applicant_id_token,
    applicant_phone_token, applicant_email_token, applicant_address_token, summary_token,
    submitted_at, received_at, due_at, finished_at, returned_at, refused_at, status,
    has_digitized_component, vneid_verified, online_payment, synced_to_portal, has_apology, rating,
    supplement_count, supplement_pause, open_supplement_at, has_positive_fee, has_electronic_result,
    has_reused_component, has_citizen_store_component, end_adjusted_at, timeliness,
    source_updated_at, batch_id
)
WITH supplement AS (
    SELECT
        s.ordinal,
        count(*) AS supplement_count,
        coalesce(sum(s.answered_at - s.requested_at), interval '0') AS supplement_pause,
        min(s.requested_at) FILTER (WHERE s.answered_at IS NULL) AS open_supplement_at
    FROM staging.dossier_supplement AS s
    WHERE s.batch_id = %(batch_id)s
    GROUP BY s.ordinal
),

dossier AS (
    SELECT
        staged.*,
        c.dossier_id,
        coalesce(sup.supplement_count, 0) AS n_supplements,
        coalesce(sup.supplement_pause, interval '0') AS pause,
        sup.open_supplement_at,
        staged.finished_at - coalesce(sup.supplement_pause, interval '0') AS end_adjusted,
        -- The flags the indicators read off the child lists. Each is the set of this batch's
        -- dossiers with a qualifying child, hashed once and probed per dossier: an aggregate per
        -- list (bool_or grouped by dossier) is slower, and correlated EXISTS hashed every batch's
        -- rows in staging instead (a backfill's extractions run ahead of its loads, so staging
        -- holds many batches). The planner hashes a set only if it expects it to fit in hash memory (twice the work_mem
        -- set above, by default), else it rescans it per dossier: a batch is at most a month
        -- (tthc.windows), its ordinals a few MB.
        c.ordinal IN (
            SELECT f.ordinal FROM staging.dossier_fee AS f
            WHERE f.batch_id = %(batch_id)s AND f.amount > 0
        ) AS positive_fee,
        c.ordinal IN (
            SELECT r.ordinal FROM staging.dossier_result AS r
            WHERE r.batch_id = %(batch_id)s AND r.file_url IS NOT NULL
        ) AS electronic_result,
        c.ordinal IN (
            SELECT doc.ordinal FROM staging.dossier_document AS doc
            WHERE doc.batch_id = %(batch_id)s AND doc.is_reused = 1
        ) AS reused_component,
        c.ordinal IN (
            SELECT doc.ordinal FROM staging.dossier_document AS doc
            WHERE doc.batch_id = %(batch_id)s AND doc.from_citizen_store = 1
        ) AS citizen_store_component
    FROM changed_dossier AS c
    INNER JOIN staging.dossier AS staged ON staged.batch_id = %(batch_id)s AND c.ordinal = staged.ordinal
    LEFT JOIN supplement AS sup ON c.ordinal = sup.ordinal
    WHERE c.is_deleted = 0
)

SELECT
    %(source_id)s,
    d.dossier_id,
    d.dossier_code,
    d.procedure_code,
    d.procedure_name,
    d.field_code,
    d.field_name,
    d.receiving_unit_code,
    d.competent_unit_code,
    coalesce(d.channel, 1),               -- a missing channel counts as in person
    d.applicant_type,
    d.applicant_name_token,
    d.applicant_id_token,
    d.applicant_phone_token,
    d.applicant_email_token,
    d.applicant_address_token,
    d.summary_token,
    d.submitted_at,
    d.received_at,
    d.due_at,
    d.finished_at,
    d.returned_at,
    d.refused_at,
    d.status,
    coalesce(d.has_digitized_component, 0) = 1,
    coalesce(d.vneid_verified, 0) = 1,
    coalesce(d.online_payment, 0),
    coalesce(d.synced_to_portal, 0) = 1,
    coalesce(d.has_apology, 0) = 1,
    d.rating,
    d.n_supplements,
    d.pause,
    d.open_supplement_at,
    d.positive_fee,
    d.electronic_result,
    d.reused_component,
    d.citizen_store_component,
    CASE WHEN d.finished_at IS NOT NULL THEN d.end_adjusted END,
    -- Timeliness (docs/indicators.md, "Words used"): only finished dossiers with a promised date are judged;
    -- more than one supplement request is late whatever the dates say (the portal's rule).
    CASE
        WHEN d.status NOT IN (7, 8, 9, 10) OR d.finished_at IS NULL OR d.due_at IS NULL THEN NULL
        WHEN d.n_supplements > 1 THEN 'late'
        WHEN d.end_adjusted <= d.due_at AND d.end_adjusted::date < d.due_at::date THEN 'early'
        WHEN d.end_adjusted <= d.due_at THEN 'on_time'
        ELSE 'late'
    END,
    d.source_updated_at,
    d.batch_id
FROM dossier AS d;

-- The child lists go in in the order of their key (dossier_id, position), so each key's inserts walk
-- its index from left to right, most into the page the one before touched. No ORDER BY asks for it:
-- the hash join below reads each staged list in the order the extraction wrote it, (ordinal,
-- position), and a new dossier's id follows its ordinal (changed_dossier above), so the rows come
-- out in key order already (a replaced dossier keeps its older id and lands where that id is).
-- Sorted or not, the inserts write the same rows; in key order they are faster (docs/performance.md).
-- Staging is joined on the batch id as a constant, here and in the fact insert: on
-- changed_dossier's column instead, the planner cannot tell which partition holds the batch and
-- reads every batch staged (a backfill's extractions run ahead of its loads).
INSERT INTO core.dossier_document (
    dossier_id, ma_ho_so, position, component_code, file_name, is_digitized, is_reused, from_citizen_store
)
SELECT
    c.dossier_id,
    c.dossier_code,
    x.position,
    x.component_code,
    x.file_name,
    x.is_digitized = 1,
    x.is_reused = 1,
    x.from_citizen_store = 1
FROM changed_dossier AS c
INNER JOIN staging.dossier_document AS x ON x.batch_id = %(batch_id)s AND c.ordinal = x.ordinal
WHERE c.is_deleted = 0;

INSERT INTO core.dossier_fee (dossier_id, ma_ho_so, position, fee_code, fee_name, amount, collection_method)
SELECT
    c.dossier_id,
    c.dossier_code,
    x.position,
    x.fee_code,
    x.fee_name,
    x.amount,
    x.collection_method
FROM changed_dossier AS c
INNER JOIN staging.dossier_fee AS x ON x.batch_id = %(batch_id)s AND c.ordinal = x.ordinal
WHERE c.is_deleted = 0;

INSERT INTO core.dossier_result (dossier_id, ma_ho_so, position, result_code, result_name, file_url)
SELECT
    c.dossier_id,
    c.dossier_code,
    x.position,
    x.result_code,
    x.result_name,
    x.file_url
FROM changed_dossier AS c
INNER JOIN staging.dossier_result AS x ON x.batch_id = %(batch_id)s AND c.ordinal = x.ordinal
WHERE c.is_deleted = 0;

INSERT INTO core.dossier_supplement (
    dossier_id, ma_ho_so, position, supplement_id, requested_at, answered_at, due_before, due_after
)
SELECT
    c.dossier_id,
    c.dossier_code,
    x.position,
    x.supplement_id,
    x.requested_at,
    x.answered_at,
    x.due_before,
    x.due_after
FROM changed_dossier AS c
INNER JOIN staging.dossier_supplement AS x ON x.batch_id = %(batch_id)s AND c.ordinal = x.ordinal
WHERE c.is_deleted = 0;

INSERT INTO core.dossier_step (
    dossier_id, ma_ho_so, position, step_at, status, department, handler_token, content_token
)
SELECT
    c.dossier_id,
    c.dossier_code,
    x.position,
    x.step_at,
    x.status,
    x.department,
    x.handler_token,
    x.content_token
FROM changed_dossier AS c
INNER JOIN staging.dossier_step AS x ON x.batch_id = %(batch_id)s AND c.ordinal = x.ordinal
WHERE c.is_deleted = 0;

-- What the loader reports: how many dossiers changed, and the units whose figures they move
-- (a dossier that changed unit moves the figures of both).
-- (Two scans under a UNION, hashed: cheaper than an unnest per dossier.)
SELECT
    count(*) AS changed,
    ARRAY(
        SELECT competent_unit_code FROM changed_dossier
        WHERE competent_unit_code IS NOT NULL
        UNION
        SELECT previous_unit_code FROM changed_dossier
        WHERE previous_unit_code IS NOT NULL
        ORDER BY 1
    ) AS units
-- the subqueries above read the table again, in their own scope
FROM changed_dossier;  -- noqa: AL04
