-- Merge one batch of procedures (the full catalogue of source %(source_id)s) into the SCD-2
-- dimension. Procedures are keyed per source: provinces set their own time limits and fees for
-- the same national code, and a source's catalogue closes only its own versions.
CREATE TEMP TABLE incoming_procedure ON COMMIT DROP AS
SELECT DISTINCT ON (procedure_code)
    -- the staged row whole: the temp table has the staging table's columns
    p.*,  -- noqa: AM04
    b.extracted_at
FROM staging.procedure AS p
INNER JOIN raw.batch AS b USING (batch_id)
WHERE p.batch_id = %(batch_id)s
    AND NOT EXISTS (
        SELECT 1 FROM quality.quarantine AS q
        WHERE q.batch_id = p.batch_id AND q.ordinal = p.ordinal AND q.resolved_at IS NULL
    )
    AND p.procedure_code IS NOT NULL AND p.procedure_name IS NOT NULL
ORDER BY procedure_code ASC, source_updated_at DESC NULLS LAST, ordinal DESC;

UPDATE core.dim_procedure AS d
SET
    row_valid_to = coalesce(i.extracted_at, (
        SELECT extracted_at FROM raw.batch
        WHERE batch_id = %(batch_id)s
    ))
FROM core.dim_procedure AS cur
LEFT JOIN incoming_procedure AS i ON cur.procedure_code = i.procedure_code
WHERE d.procedure_version_id = cur.procedure_version_id
    AND cur.source_id = %(source_id)s
    AND cur.row_valid_to IS NULL
    AND (
        i.procedure_code IS NULL
        OR (
            cur.procedure_name, cur.field_code, cur.field_name, cur.levels, cur.time_limit, cur.time_limit_unit,
            cur.has_fee, cur.has_paper_result, cur.online_level
        )
        IS DISTINCT FROM (
            i.procedure_name, i.field_code, i.field_name, coalesce(i.levels, '{}'), i.time_limit,
            i.time_limit_unit, i.has_fee, i.has_paper_result, i.online_level
        )
    );

INSERT INTO core.dim_procedure (
    source_id, procedure_code, procedure_name, field_code, field_name, levels, time_limit,
    time_limit_unit, has_fee, has_paper_result, online_level, source_updated_at,
    row_valid_from, batch_id
)
SELECT
    %(source_id)s,
    i.procedure_code,
    i.procedure_name,
    i.field_code,
    i.field_name,
    coalesce(i.levels, '{}'),
    i.time_limit,
    i.time_limit_unit,
    i.has_fee,
    i.has_paper_result,
    i.online_level,
    i.source_updated_at,
    i.extracted_at,
    i.batch_id
FROM incoming_procedure AS i
WHERE NOT EXISTS (
        SELECT 1 FROM core.dim_procedure AS d
        WHERE d.source_id = %(source_id)s AND d.procedure_code = i.procedure_code AND d.row_valid_to IS NULL
    );

-- New versions written by this batch: what the loader reports as changed.
SELECT count(*) FROM core.dim_procedure
WHERE batch_id = %(batch_id)s;
