SELECT
    dossier.ordinal,
    dossier.dossier_code AS record_key,
    'status ' || dossier.status || ' but NgayKetThucXuLy = ' || (raw.payload ->> 'NgayKetThucXuLy') AS detail
FROM {batch} AS dossier
INNER JOIN raw.record AS raw ON dossier.batch_id = raw.batch_id AND dossier.ordinal = raw.ordinal
WHERE dossier.status IN (2, 4) AND dossier.finished_at IS NOT NULL;
