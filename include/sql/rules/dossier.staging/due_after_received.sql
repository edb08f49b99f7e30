SELECT
    dossier.ordinal,
    dossier.dossier_code AS record_key,
    'NgayHenTra ' || (raw.payload ->> 'NgayHenTra')
    || ' is before NgayTiepNhan ' || (raw.payload ->> 'NgayTiepNhan') AS detail
FROM {batch} AS dossier
INNER JOIN raw.record AS raw ON dossier.batch_id = raw.batch_id AND dossier.ordinal = raw.ordinal
WHERE dossier.due_at < dossier.received_at;
