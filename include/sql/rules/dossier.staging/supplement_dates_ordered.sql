SELECT
    dossier.ordinal,
    dossier.dossier_code AS record_key,
    'a supplement received before it was requested' AS detail
FROM {batch} AS dossier
WHERE EXISTS (
        SELECT 1 FROM staging.dossier_supplement AS supplement
        WHERE supplement.batch_id = dossier.batch_id
            AND supplement.ordinal = dossier.ordinal
            AND supplement.answered_at < supplement.requested_at
    );
