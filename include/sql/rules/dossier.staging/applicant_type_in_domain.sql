SELECT
    dossier.ordinal,
    dossier.dossier_code AS record_key,
    'LoaiDoiTuong = ' || coalesce(raw.payload ->> 'LoaiDoiTuong', 'null') || ' is not one of 1..4' AS detail
FROM {batch} AS dossier
INNER JOIN raw.record AS raw ON dossier.batch_id = raw.batch_id AND dossier.ordinal = raw.ordinal
WHERE dossier.applicant_type NOT BETWEEN 1 AND 4 OR 'LoaiDoiTuong' = ANY(dossier.unreadable_fields);
