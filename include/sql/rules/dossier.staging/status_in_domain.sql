SELECT
    dossier.ordinal,
    dossier.dossier_code AS record_key,
    'TrangThaiHoSo = ' || coalesce(raw.payload ->> 'TrangThaiHoSo', 'null') || ' is not one of 1..10' AS detail
FROM {batch} AS dossier
INNER JOIN raw.record AS raw ON dossier.batch_id = raw.batch_id AND dossier.ordinal = raw.ordinal
WHERE dossier.status IS NULL OR dossier.status NOT BETWEEN 1 AND 10;
