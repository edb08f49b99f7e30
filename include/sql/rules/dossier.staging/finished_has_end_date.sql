SELECT
    dossier.ordinal,
    dossier.dossier_code AS record_key,
    'status ' || dossier.status || ' without NgayKetThucXuLy' AS detail
FROM {batch} AS dossier
WHERE dossier.status IN (9, 10) AND dossier.finished_at IS NULL;
