SELECT
    unit.ordinal,
    unit.unit_code AS record_key,
    'MaDonVi, TenDonVi or LoaiDonVi is empty' AS detail
FROM {batch} AS unit
WHERE unit.unit_code IS NULL OR unit.unit_name IS NULL OR unit.unit_type IS NULL;
