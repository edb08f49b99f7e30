-- Quarantined records of source %(source_id)s that only wait for reference data (every open rule
-- of the record is one of %(rules)s) and whose unit and procedure codes are all known now (the
-- procedure in the source's own catalogue); the newest copy of each (batch, ordinal). Used by
-- tthc.quality.retry after every reference load.
WITH waiting AS (
    SELECT
        q.batch_id,
        q.ordinal
    FROM quality.quarantine AS q
    WHERE q.source_id = %(source_id)s AND q.entity = %(entity)s AND q.resolved_at IS NULL
    GROUP BY q.batch_id, q.ordinal
    HAVING bool_and(q.rule = ANY(%(rules)s))
)

SELECT
    raw.batch_id,
    raw.ordinal,
    raw.record_key,
    raw.payload::text AS payload,
    coalesce(staging.parse_source_timestamp(raw.payload ->> 'NgayCapNhat'), batch.extracted_at) AS updated_at
FROM waiting
INNER JOIN raw.record AS raw USING (batch_id, ordinal)
INNER JOIN raw.batch AS batch USING (batch_id)
WHERE EXISTS (
        SELECT 1 FROM core.dim_unit AS u
        WHERE u.row_valid_to IS NULL
            AND u.unit_code = staging.nullif_blank(raw.payload ->> 'MaDonViXuLy')
    )
    AND EXISTS (
        SELECT 1 FROM core.dim_unit AS u
        WHERE u.row_valid_to IS NULL
            AND u.unit_code = staging.nullif_blank(raw.payload ->> 'MaDonViTiepNhan')
    )
    AND EXISTS (
        SELECT 1 FROM core.dim_procedure AS p
        WHERE p.row_valid_to IS NULL
            AND p.source_id = batch.source_id
            AND p.procedure_code = staging.nullif_blank(raw.payload ->> 'MaTTHC')
    )
ORDER BY raw.batch_id, raw.ordinal;
