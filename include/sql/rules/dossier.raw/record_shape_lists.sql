SELECT
    raw.ordinal,
    raw.record_key,
    'not a list (or null): ' || (
        SELECT string_agg(k || ' is ' || jsonb_typeof(raw.payload -> k), ', ')
        FROM unnest(ARRAY[
                'TaiLieuNop', 'DanhSachLePhi', 'DanhSachGiayToKetQua', 'DanhSachHoSoBoSung', 'QuaTrinhXuLy'
            ]) AS k
        WHERE jsonb_typeof(raw.payload -> k) NOT IN ('array', 'null')
    ) AS detail
FROM {batch} AS raw
WHERE raw.well_shaped IS NOT TRUE
    AND (
        jsonb_path_exists(raw.payload, 'strict $ ? (@.type() == "object" && (
            @.TaiLieuNop.type() != "array" && @.TaiLieuNop.type() != "null"
            || @.DanhSachLePhi.type() != "array" && @.DanhSachLePhi.type() != "null"
            || @.DanhSachGiayToKetQua.type() != "array" && @.DanhSachGiayToKetQua.type() != "null"
            || @.DanhSachHoSoBoSung.type() != "array" && @.DanhSachHoSoBoSung.type() != "null"
            || @.QuaTrinhXuLy.type() != "array" && @.QuaTrinhXuLy.type() != "null"
        ))')
    );
