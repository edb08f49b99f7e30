SELECT
    dossier.ordinal,
    dossier.dossier_code AS record_key,
    'a 0/1 flag has another value: ' || concat_ws(
        ', ',
        'HoSoCoThanhPhanSoHoa=' || (raw.payload ->> 'HoSoCoThanhPhanSoHoa'),
        'TaiKhoanDuocXacThucVoiVNeID=' || (raw.payload ->> 'TaiKhoanDuocXacThucVoiVNeID'),
        'DongBoDVCQG=' || (raw.payload ->> 'DongBoDVCQG'),
        'CoPhieuXinLoi=' || (raw.payload ->> 'CoPhieuXinLoi'),
        'KetQuaDanhGia=' || (raw.payload ->> 'KetQuaDanhGia'),
        'DaXoa=' || (raw.payload ->> 'DaXoa')
    ) AS detail
FROM {batch} AS dossier
INNER JOIN raw.record AS raw ON dossier.batch_id = raw.batch_id AND dossier.ordinal = raw.ordinal
WHERE dossier.has_digitized_component NOT IN (0, 1)
    OR dossier.vneid_verified NOT IN (0, 1)
    OR dossier.synced_to_portal NOT IN (0, 1)
    OR dossier.has_apology NOT IN (0, 1)
    OR dossier.rating NOT IN (0, 1)
    OR dossier.is_deleted NOT IN (0, 1)
    OR dossier.unreadable_fields && ARRAY[
        'HoSoCoThanhPhanSoHoa', 'TaiKhoanDuocXacThucVoiVNeID', 'DongBoDVCQG', 'CoPhieuXinLoi', 'KetQuaDanhGia', 'DaXoa'
    ];
