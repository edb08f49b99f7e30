SELECT
    dossier.ordinal,
    dossier.dossier_code AS record_key,
    'MaHoSo is empty' AS detail
FROM {batch} AS dossier
WHERE dossier.dossier_code IS NULL;
