SELECT
    dossier.ordinal,
    dossier.dossier_code AS record_key,
    'unknown procedure MaTTHC=' || coalesce(dossier.procedure_code, 'null') AS detail
FROM {batch} AS dossier
WHERE NOT EXISTS (
        SELECT 1 FROM core.dim_procedure AS procedure
        WHERE procedure.row_valid_to IS NULL AND procedure.procedure_code = dossier.procedure_code
            -- the batch's own source's catalogue
            AND procedure.source_id = (
                SELECT b.source_id FROM raw.batch AS b
                WHERE b.batch_id = {batch_id}
            )
    );
