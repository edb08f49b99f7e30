SELECT
    raw.ordinal,
    raw.record_key,
    'a scalar field holds a list or an object: ' || (
        SELECT string_agg(field.key, ', ')
        FROM
            jsonb_each(
                raw.payload - ARRAY[
                    'TaiLieuNop', 'DanhSachLePhi', 'DanhSachGiayToKetQua', 'DanhSachHoSoBoSung', 'QuaTrinhXuLy'
                ]
            ) AS field
        WHERE jsonb_typeof(field.value) IN ('array', 'object')
    ) AS detail
FROM {batch} AS raw
WHERE raw.well_shaped IS NOT TRUE
    AND (
        CASE
            WHEN jsonb_typeof(raw.payload) = 'object'
                THEN jsonb_path_exists(
                        raw.payload - ARRAY[
                            'TaiLieuNop', 'DanhSachLePhi', 'DanhSachGiayToKetQua', 'DanhSachHoSoBoSung', 'QuaTrinhXuLy'
                        ],
                        'strict $.* ? (@.type() == "array" || @.type() == "object")'
                    )
            ELSE FALSE
        END
    );
