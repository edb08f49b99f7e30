SELECT
    dossier.ordinal,
    dossier.dossier_code AS record_key,
    'dates out of order: NgayNopHoSo=' || coalesce(raw.payload ->> 'NgayNopHoSo', '')
    || ', NgayTiepNhan=' || coalesce(raw.payload ->> 'NgayTiepNhan', '')
    || ', NgayKetThucXuLy=' || coalesce(raw.payload ->> 'NgayKetThucXuLy', '')
    || ', NgayTra=' || coalesce(raw.payload ->> 'NgayTra', '') AS detail
FROM {batch} AS dossier
INNER JOIN raw.record AS raw ON dossier.batch_id = raw.batch_id AND dossier.ordinal = raw.ordinal
WHERE dossier.submitted_at > dossier.received_at
    OR dossier.received_at > dossier.finished_at
    OR dossier.finished_at > dossier.returned_at;
