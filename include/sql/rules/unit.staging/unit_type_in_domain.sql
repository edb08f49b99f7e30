SELECT
    unit.ordinal,
    unit.unit_code AS record_key,
    'LoaiDonVi = ' || unit.unit_type || ' is not a known unit type' AS detail
FROM {batch} AS unit
WHERE unit.unit_type NOT IN ('TINH', 'SO_NGANH', 'HUYEN', 'PHONG_HUYEN', 'XA');
