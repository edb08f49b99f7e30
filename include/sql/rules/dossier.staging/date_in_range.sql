SELECT
    dossier.ordinal,
    dossier.dossier_code AS record_key,
    (
        SELECT
            'a date lies outside 2000-01-01 .. extraction ('
            || least(batch.extracted_at, coalesce(batch.window_end, batch.extracted_at))
            || ') + 1 day: '
            || concat_ws(
                ', ',
                'NgayNopHoSo=' || (raw.payload ->> 'NgayNopHoSo'),
                'NgayTiepNhan=' || (raw.payload ->> 'NgayTiepNhan'),
                'NgayKetThucXuLy=' || (raw.payload ->> 'NgayKetThucXuLy'),
                'NgayTra=' || (raw.payload ->> 'NgayTra')
            )
        FROM raw.record AS raw
        WHERE raw.batch_id = dossier.batch_id AND raw.ordinal = dossier.ordinal
    ) AS detail
FROM {batch} AS dossier
INNER JOIN raw.batch AS batch ON dossier.batch_id = batch.batch_id
WHERE
    least(
        dossier.submitted_at, dossier.received_at, dossier.finished_at,
        dossier.returned_at, dossier.refused_at, dossier.source_updated_at
    ) < timestamptz '2000-01-01 00:00+07'
    OR greatest(
        dossier.submitted_at, dossier.received_at, dossier.finished_at,
        dossier.returned_at, dossier.refused_at, dossier.source_updated_at
    ) > least(batch.extracted_at, coalesce(batch.window_end, batch.extracted_at)) + interval '1 day';
