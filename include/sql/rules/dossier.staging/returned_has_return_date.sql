SELECT
    dossier.ordinal,
    dossier.dossier_code AS record_key,
    'status 10 (result returned) without NgayTra' AS detail
FROM {batch} AS dossier
WHERE dossier.status = 10 AND dossier.returned_at IS NULL;
