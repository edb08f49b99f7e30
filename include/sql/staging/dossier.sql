-- Stage one raw batch of dossiers: rename (Vietnamese source names -> English) and cast.
-- Nothing is judged here; unreadable values become NULL and are named in unreadable_fields,
-- which the quality gate turns into quarantine rows.
DELETE FROM staging.dossier WHERE batch_id = %(batch_id)s;

INSERT INTO staging.dossier
WITH source AS (
    SELECT batch_id, ordinal, payload AS p
    FROM raw.record
    WHERE batch_id = %(batch_id)s
)
SELECT
    batch_id,
    ordinal,
    staging.nullif_blank(p->>'MaHoSo')                       AS dossier_code,
    staging.nullif_blank(p->>'MaTTHC')                       AS procedure_code,
    staging.nullif_blank(p->>'TenTTHC')                      AS procedure_name,
    staging.nullif_blank(p->>'MaLinhVuc')                    AS field_code,
    staging.nullif_blank(p->>'TenLinhVuc')                   AS field_name,
    staging.nullif_blank(p->>'MaDonViTiepNhan')              AS receiving_unit_code,
    staging.nullif_blank(p->>'MaDonViXuLy')                  AS competent_unit_code,
    staging.parse_source_int(p->>'KenhThucHien')             AS channel,
    staging.parse_source_int(p->>'LoaiDoiTuong')             AS applicant_type,
    staging.nullif_blank(p->>'ChuHoSo')                      AS applicant_name_token,
    staging.nullif_blank(p->>'SoGiayToChuHoSo')              AS applicant_id_token,
    staging.nullif_blank(p->>'SoDienThoai')                  AS applicant_phone_token,
    staging.nullif_blank(p->>'Email')                        AS applicant_email_token,
    staging.nullif_blank(p->>'DiaChi')                       AS applicant_address_token,
    staging.nullif_blank(p->>'TrichYeuHoSo')                 AS summary_token,
    staging.parse_source_timestamp(p->>'NgayNopHoSo')        AS submitted_at,
    staging.parse_source_timestamp(p->>'NgayTiepNhan')       AS received_at,
    staging.parse_source_timestamp(p->>'NgayHenTra')         AS due_at,
    staging.parse_source_timestamp(p->>'NgayKetThucXuLy')    AS finished_at,
    staging.parse_source_timestamp(p->>'NgayTra')            AS returned_at,
    staging.parse_source_timestamp(p->>'NgayTuChoi')         AS refused_at,
    staging.parse_source_int(p->>'TrangThaiHoSo')            AS status,
    staging.parse_source_int(p->>'HoSoCoThanhPhanSoHoa')     AS has_digitized_component,
    staging.parse_source_int(p->>'TaiKhoanDuocXacThucVoiVNeID') AS vneid_verified,
    staging.parse_source_int(p->>'DuocThanhToanTrucTuyen')   AS online_payment,
    staging.parse_source_int(p->>'DongBoDVCQG')              AS synced_to_portal,
    staging.parse_source_int(p->>'CoPhieuXinLoi')            AS has_apology,
    staging.parse_source_int(p->>'KetQuaDanhGia')            AS rating,
    staging.parse_source_int(p->>'DaXoa')                    AS is_deleted,
    staging.parse_source_timestamp(p->>'NgayCapNhat')        AS source_updated_at,
    ARRAY(
        SELECT field FROM (VALUES
            ('NgayNopHoSo',     staging.is_unreadable_timestamp(p->>'NgayNopHoSo')),
            ('NgayTiepNhan',    staging.is_unreadable_timestamp(p->>'NgayTiepNhan')),
            ('NgayHenTra',      staging.is_unreadable_timestamp(p->>'NgayHenTra')),
            ('NgayKetThucXuLy', staging.is_unreadable_timestamp(p->>'NgayKetThucXuLy')),
            ('NgayTra',         staging.is_unreadable_timestamp(p->>'NgayTra')),
            ('NgayTuChoi',      staging.is_unreadable_timestamp(p->>'NgayTuChoi')),
            ('NgayCapNhat',     staging.is_unreadable_timestamp(p->>'NgayCapNhat')),
            ('KenhThucHien',    staging.is_unreadable_int(p->>'KenhThucHien')),
            ('LoaiDoiTuong',    staging.is_unreadable_int(p->>'LoaiDoiTuong')),
            ('TrangThaiHoSo',   staging.is_unreadable_int(p->>'TrangThaiHoSo')),
            ('HoSoCoThanhPhanSoHoa', staging.is_unreadable_int(p->>'HoSoCoThanhPhanSoHoa')),
            ('TaiKhoanDuocXacThucVoiVNeID', staging.is_unreadable_int(p->>'TaiKhoanDuocXacThucVoiVNeID')),
            ('DuocThanhToanTrucTuyen', staging.is_unreadable_int(p->>'DuocThanhToanTrucTuyen')),
            ('DongBoDVCQG',     staging.is_unreadable_int(p->>'DongBoDVCQG')),
            ('CoPhieuXinLoi',   staging.is_unreadable_int(p->>'CoPhieuXinLoi')),
            ('KetQuaDanhGia',   staging.is_unreadable_int(p->>'KetQuaDanhGia')),
            ('DaXoa',           staging.is_unreadable_int(p->>'DaXoa'))
        ) AS checked (field, unreadable)
        WHERE unreadable
    )                                                        AS unreadable_fields,
    md5(p::text)                                             AS payload_hash
FROM source;

DELETE FROM staging.dossier_document WHERE batch_id = %(batch_id)s;
INSERT INTO staging.dossier_document
SELECT r.batch_id, r.ordinal, item.position::int,
       staging.nullif_blank(item.value->>'MaThanhPhanHoSo'),
       staging.nullif_blank(item.value->>'TenTepDinhKem'),
       staging.parse_source_int(item.value->>'DuocSoHoa'),
       staging.parse_source_int(item.value->>'DuocTaiSuDung'),
       staging.parse_source_int(item.value->>'DuocLayTuKhoDMQG')
FROM raw.record r
CROSS JOIN LATERAL jsonb_array_elements(
    CASE jsonb_typeof(r.payload->'TaiLieuNop') WHEN 'array' THEN r.payload->'TaiLieuNop' ELSE '[]' END
) WITH ORDINALITY AS item (value, position)
WHERE r.batch_id = %(batch_id)s;

DELETE FROM staging.dossier_fee WHERE batch_id = %(batch_id)s;
INSERT INTO staging.dossier_fee
SELECT r.batch_id, r.ordinal, item.position::int,
       staging.nullif_blank(item.value->>'MaPhiLePhi'),
       staging.nullif_blank(item.value->>'TenPhiLePhi'),
       staging.parse_source_numeric(item.value->>'Gia'),
       staging.nullif_blank(item.value->>'HinhThucThu'),
       staging.nullif_blank(item.value->>'Gia') IS NOT NULL
           AND staging.parse_source_numeric(item.value->>'Gia') IS NULL
FROM raw.record r
CROSS JOIN LATERAL jsonb_array_elements(
    CASE jsonb_typeof(r.payload->'DanhSachLePhi') WHEN 'array' THEN r.payload->'DanhSachLePhi' ELSE '[]' END
) WITH ORDINALITY AS item (value, position)
WHERE r.batch_id = %(batch_id)s;

DELETE FROM staging.dossier_result WHERE batch_id = %(batch_id)s;
INSERT INTO staging.dossier_result
SELECT r.batch_id, r.ordinal, item.position::int,
       staging.nullif_blank(item.value->>'MaGiayToKetQua'),
       staging.nullif_blank(item.value->>'TenGiayTo'),
       staging.nullif_blank(item.value->>'DuongDanTepTinKetQua')
FROM raw.record r
CROSS JOIN LATERAL jsonb_array_elements(
    CASE jsonb_typeof(r.payload->'DanhSachGiayToKetQua') WHEN 'array' THEN r.payload->'DanhSachGiayToKetQua' ELSE '[]' END
) WITH ORDINALITY AS item (value, position)
WHERE r.batch_id = %(batch_id)s;

DELETE FROM staging.dossier_supplement WHERE batch_id = %(batch_id)s;
INSERT INTO staging.dossier_supplement
SELECT r.batch_id, r.ordinal, item.position::int,
       staging.nullif_blank(item.value->>'HoSoBoSungId'),
       staging.parse_source_timestamp(item.value->>'NgayBoSung'),
       staging.parse_source_timestamp(item.value->>'NgayTiepNhanBoSung'),
       staging.parse_source_timestamp(item.value->>'NgayHenTraTruoc'),
       staging.parse_source_timestamp(item.value->>'NgayHenTraMoi'),
       ARRAY(
           SELECT field FROM (VALUES
               ('NgayBoSung',         staging.is_unreadable_timestamp(item.value->>'NgayBoSung')),
               ('NgayTiepNhanBoSung', staging.is_unreadable_timestamp(item.value->>'NgayTiepNhanBoSung')),
               ('NgayHenTraTruoc',    staging.is_unreadable_timestamp(item.value->>'NgayHenTraTruoc')),
               ('NgayHenTraMoi',      staging.is_unreadable_timestamp(item.value->>'NgayHenTraMoi'))
           ) AS checked (field, unreadable)
           WHERE unreadable
       )
FROM raw.record r
CROSS JOIN LATERAL jsonb_array_elements(
    CASE jsonb_typeof(r.payload->'DanhSachHoSoBoSung') WHEN 'array' THEN r.payload->'DanhSachHoSoBoSung' ELSE '[]' END
) WITH ORDINALITY AS item (value, position)
WHERE r.batch_id = %(batch_id)s;

DELETE FROM staging.dossier_step WHERE batch_id = %(batch_id)s;
INSERT INTO staging.dossier_step
SELECT r.batch_id, r.ordinal, item.position::int,
       staging.parse_source_timestamp(item.value->>'ThoiDiemXuLy'),
       staging.parse_source_int(item.value->>'TrangThai'),
       staging.nullif_blank(item.value->>'PhongBanXuLy'),
       staging.nullif_blank(item.value->>'NguoiXuLy'),
       staging.nullif_blank(item.value->>'NoiDungXuLy')
FROM raw.record r
CROSS JOIN LATERAL jsonb_array_elements(
    CASE jsonb_typeof(r.payload->'QuaTrinhXuLy') WHEN 'array' THEN r.payload->'QuaTrinhXuLy' ELSE '[]' END
) WITH ORDINALITY AS item (value, position)
WHERE r.batch_id = %(batch_id)s;
