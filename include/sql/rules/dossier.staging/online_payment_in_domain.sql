SELECT
    dossier.ordinal,
    dossier.dossier_code AS record_key,
    'DuocThanhToanTrucTuyen = ' || coalesce(raw.payload ->> 'DuocThanhToanTrucTuyen', 'null')
    || ' is not 0, 1 or 2' AS detail
FROM {batch} AS dossier
INNER JOIN raw.record AS raw ON dossier.batch_id = raw.batch_id AND dossier.ordinal = raw.ordinal
WHERE dossier.online_payment NOT IN (0, 1, 2) OR 'DuocThanhToanTrucTuyen' = ANY(dossier.unreadable_fields);
