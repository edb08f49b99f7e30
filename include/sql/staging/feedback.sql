-- Stage one raw batch of citizen feedback (PAKN, /api/v1/phananh): rename and cast.
DELETE FROM staging.feedback
WHERE batch_id = %(batch_id)s;
INSERT INTO staging.feedback
SELECT
    batch_id,
    ordinal,
    staging.nullif_blank(payload ->> 'MaPAKN') AS feedback_code,
    staging.nullif_blank(payload ->> 'MaDonVi') AS unit_code,
    staging.nullif_blank(payload ->> 'MaHoSo') AS dossier_code,
    staging.nullif_blank(payload ->> 'LoaiPAKN') AS kind,
    staging.parse_source_timestamp(payload ->> 'NgayTiepNhan') AS received_at,
    staging.parse_source_timestamp(payload ->> 'HanXuLy') AS deadline_at,
    staging.parse_source_timestamp(payload ->> 'NgayXuLy') AS handled_at,
    staging.parse_source_int(payload ->> 'HaiLong') AS satisfied,
    staging.parse_source_timestamp(payload ->> 'NgayCapNhat') AS source_updated_at,
    ARRAY(
        SELECT field
        FROM (
            VALUES
            ('NgayTiepNhan', staging.is_unreadable_timestamp(payload ->> 'NgayTiepNhan')),
            ('HanXuLy', staging.is_unreadable_timestamp(payload ->> 'HanXuLy')),
            ('NgayXuLy', staging.is_unreadable_timestamp(payload ->> 'NgayXuLy')),
            ('NgayCapNhat', staging.is_unreadable_timestamp(payload ->> 'NgayCapNhat')),
            ('HaiLong', staging.is_unreadable_int(payload ->> 'HaiLong'))
        ) AS checked (field, unreadable)
        WHERE unreadable
    ) AS unreadable_fields
FROM raw.record
WHERE batch_id = %(batch_id)s;
