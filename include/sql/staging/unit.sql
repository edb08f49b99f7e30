-- Stage one raw batch of units (/api/v1/donvi): rename and cast.
DELETE FROM staging.unit
WHERE batch_id = %(batch_id)s;
INSERT INTO staging.unit
SELECT
    batch_id,
    ordinal,
    staging.nullif_blank(payload ->> 'MaDonVi') AS unit_code,
    staging.nullif_blank(payload ->> 'TenDonVi') AS unit_name,
    staging.nullif_blank(payload ->> 'LoaiDonVi') AS unit_type,
    staging.nullif_blank(payload ->> 'MaDonViCha') AS parent_code,
    staging.nullif_blank(payload ->> 'MaGSO') AS gso_code,
    staging.parse_source_date(payload ->> 'HieuLucTu') AS valid_from,
    staging.parse_source_date(payload ->> 'HieuLucDen') AS valid_to,
    coalesce(
        ARRAY(
            SELECT btrim(code) FROM unnest(string_to_array(payload ->> 'MaDonViMoi', ',')) AS code
            WHERE btrim(code) <> ''
        ),
        '{}'
    ) AS successor_codes,
    staging.parse_source_timestamp(payload ->> 'NgayCapNhat') AS source_updated_at
FROM raw.record
WHERE batch_id = %(batch_id)s;
