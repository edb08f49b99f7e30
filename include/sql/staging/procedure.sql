-- Stage one raw batch of procedures (/api/v1/thutuc): rename and cast.
DELETE FROM staging.procedure
WHERE batch_id = %(batch_id)s;
INSERT INTO staging.procedure
SELECT
    batch_id,
    ordinal,
    staging.nullif_blank(payload ->> 'MaTTHC') AS procedure_code,
    staging.nullif_blank(payload ->> 'TenTTHC') AS procedure_name,
    staging.nullif_blank(payload ->> 'MaLinhVuc') AS field_code,
    staging.nullif_blank(payload ->> 'TenLinhVuc') AS field_name,
    CASE jsonb_typeof(payload -> 'CapThucHien')
        WHEN 'array' THEN ARRAY(SELECT jsonb_array_elements_text(payload -> 'CapThucHien'))
        ELSE string_to_array(staging.nullif_blank(payload ->> 'CapThucHien'), ',')
    END AS levels,
    staging.parse_source_numeric(payload ->> 'ThoiHanGiaiQuyet') AS time_limit,
    staging.nullif_blank(payload ->> 'DonViTinh') AS time_limit_unit,
    coalesce(staging.parse_source_bool(payload ->> 'CoPhiLePhi'), FALSE) AS has_fee,
    coalesce(staging.parse_source_bool(payload ->> 'CoKetQuaGiay'), FALSE) AS has_paper_result,
    staging.nullif_blank(payload ->> 'MucDoDVC') AS online_level,
    staging.parse_source_timestamp(payload ->> 'NgayCapNhat') AS source_updated_at
FROM raw.record
WHERE batch_id = %(batch_id)s;
