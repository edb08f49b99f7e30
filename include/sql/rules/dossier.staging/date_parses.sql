SELECT
    dossier.ordinal,
    dossier.dossier_code AS record_key,
    'unreadable date: ' || coalesce(
        (
            SELECT string_agg(field || ' = "' || (raw.payload ->> field) || '"', ', ')
            FROM
                unnest(dossier.unreadable_fields) AS field,
                LATERAL (
                    SELECT payload FROM raw.record
                    WHERE raw.record.batch_id = dossier.batch_id AND raw.record.ordinal = dossier.ordinal
                ) AS raw
            WHERE field LIKE 'Ngay%'
        ),
        'in DanhSachHoSoBoSung'
    ) AS detail
FROM {batch} AS dossier
WHERE
    dossier.unreadable_fields && ARRAY[
        'NgayNopHoSo', 'NgayTiepNhan', 'NgayHenTra', 'NgayKetThucXuLy', 'NgayTra', 'NgayTuChoi', 'NgayCapNhat'
    ]
    OR dossier.ordinal IN (
        SELECT supplement.ordinal FROM staging.dossier_supplement AS supplement
        WHERE supplement.batch_id = {batch_id} AND cardinality(supplement.unreadable_fields) > 0
    );
