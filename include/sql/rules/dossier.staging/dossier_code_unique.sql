SELECT
    dossier.ordinal,
    dossier.dossier_code AS record_key,
    'MaHoSo ' || dossier.dossier_code || ' arrives more than once with different content' AS detail
FROM {batch} AS dossier
WHERE EXISTS (
        SELECT 1 FROM staging.dossier AS other
        WHERE other.batch_id = dossier.batch_id
            AND other.dossier_code = dossier.dossier_code
            AND other.source_updated_at IS NOT DISTINCT FROM dossier.source_updated_at
            AND other.payload_hash <> dossier.payload_hash
    );
