-- Stage one raw batch of dossiers: rename (Vietnamese source names -> English) and cast.
-- Nothing is judged here; unreadable values become NULL and are named in unreadable_fields,
-- which the quality gate turns into quarantine rows.
DELETE FROM staging.dossier WHERE batch_id = %(batch_id)s;

INSERT INTO staging.dossier
WITH source AS (
    -- One jsonb_to_record call reads every field; numbers arrive as their text.
    SELECT r.batch_id, r.ordinal, coalesce(r.payload_hash, md5(r.payload::text)) AS payload_hash, f.*
    FROM raw.record AS r
    CROSS JOIN LATERAL jsonb_to_record(r.payload) AS f (
        "MaHoSo" text, "MaTTHC" text, "TenTTHC" text, "MaLinhVuc" text, "TenLinhVuc" text,
        "MaDonViTiepNhan" text, "MaDonViXuLy" text, "KenhThucHien" text, "LoaiDoiTuong" text,
        "ChuHoSo" text, "SoGiayToChuHoSo" text, "SoDienThoai" text, "Email" text, "DiaChi" text,
        "TrichYeuHoSo" text, "NgayNopHoSo" text, "NgayTiepNhan" text, "NgayHenTra" text,
        "NgayKetThucXuLy" text, "NgayTra" text, "NgayTuChoi" text, "TrangThaiHoSo" text,
        "HoSoCoThanhPhanSoHoa" text, "TaiKhoanDuocXacThucVoiVNeID" text, "DuocThanhToanTrucTuyen" text,
        "DongBoDVCQG" text, "CoPhieuXinLoi" text, "KetQuaDanhGia" text, "DaXoa" text, "NgayCapNhat" text
    )
    WHERE r.batch_id = %(batch_id)s
),
parsed AS (
    -- Each value is parsed once; "unreadable" below = present in the source but NULL here.
    SELECT source.*,
           staging.parse_source_int("KenhThucHien")                AS channel,
           staging.parse_source_int("LoaiDoiTuong")                AS applicant_type,
           staging.parse_source_int("TrangThaiHoSo")               AS status,
           staging.parse_source_int("HoSoCoThanhPhanSoHoa")        AS has_digitized_component,
           staging.parse_source_int("TaiKhoanDuocXacThucVoiVNeID") AS vneid_verified,
           staging.parse_source_int("DuocThanhToanTrucTuyen")      AS online_payment,
           staging.parse_source_int("DongBoDVCQG")                 AS synced_to_portal,
           staging.parse_source_int("CoPhieuXinLoi")               AS has_apology,
           staging.parse_source_int("KetQuaDanhGia")               AS rating,
           staging.parse_source_int("DaXoa")                       AS is_deleted,
           staging.parse_source_timestamp("NgayNopHoSo")     AS submitted_at,
           staging.parse_source_timestamp("NgayTiepNhan")    AS received_at,
           staging.parse_source_timestamp("NgayHenTra")      AS due_at,
           staging.parse_source_timestamp("NgayKetThucXuLy") AS finished_at,
           staging.parse_source_timestamp("NgayTra")         AS returned_at,
           staging.parse_source_timestamp("NgayTuChoi")      AS refused_at,
           staging.parse_source_timestamp("NgayCapNhat")     AS source_updated_at
    FROM source
)
SELECT
    batch_id,
    ordinal,
    staging.nullif_blank("MaHoSo")                       AS dossier_code,
    staging.nullif_blank("MaTTHC")                       AS procedure_code,
    staging.nullif_blank("TenTTHC")                      AS procedure_name,
    staging.nullif_blank("MaLinhVuc")                    AS field_code,
    staging.nullif_blank("TenLinhVuc")                   AS field_name,
    staging.nullif_blank("MaDonViTiepNhan")              AS receiving_unit_code,
    staging.nullif_blank("MaDonViXuLy")                  AS competent_unit_code,
    channel,
    applicant_type,
    staging.nullif_blank("ChuHoSo")                      AS applicant_name_token,
    staging.nullif_blank("SoGiayToChuHoSo")              AS applicant_id_token,
    staging.nullif_blank("SoDienThoai")                  AS applicant_phone_token,
    staging.nullif_blank("Email")                        AS applicant_email_token,
    staging.nullif_blank("DiaChi")                       AS applicant_address_token,
    staging.nullif_blank("TrichYeuHoSo")                 AS summary_token,
    submitted_at, received_at, due_at, finished_at, returned_at, refused_at,
    status,
    has_digitized_component,
    vneid_verified,
    online_payment,
    synced_to_portal,
    has_apology,
    rating,
    is_deleted,
    source_updated_at,
    array_remove(ARRAY[
        CASE WHEN staging.nullif_blank("NgayNopHoSo") IS NOT NULL AND submitted_at IS NULL THEN 'NgayNopHoSo' END,
        CASE WHEN staging.nullif_blank("NgayTiepNhan") IS NOT NULL AND received_at IS NULL THEN 'NgayTiepNhan' END,
        CASE WHEN staging.nullif_blank("NgayHenTra") IS NOT NULL AND due_at IS NULL THEN 'NgayHenTra' END,
        CASE WHEN staging.nullif_blank("NgayKetThucXuLy") IS NOT NULL AND finished_at IS NULL THEN 'NgayKetThucXuLy' END,
        CASE WHEN staging.nullif_blank("NgayTra") IS NOT NULL AND returned_at IS NULL THEN 'NgayTra' END,
        CASE WHEN staging.nullif_blank("NgayTuChoi") IS NOT NULL AND refused_at IS NULL THEN 'NgayTuChoi' END,
        CASE WHEN staging.nullif_blank("NgayCapNhat") IS NOT NULL AND source_updated_at IS NULL THEN 'NgayCapNhat' END,
        CASE WHEN staging.nullif_blank("KenhThucHien") IS NOT NULL AND channel IS NULL THEN 'KenhThucHien' END,
        CASE WHEN staging.nullif_blank("LoaiDoiTuong") IS NOT NULL AND applicant_type IS NULL THEN 'LoaiDoiTuong' END,
        CASE WHEN staging.nullif_blank("TrangThaiHoSo") IS NOT NULL AND status IS NULL THEN 'TrangThaiHoSo' END,
        CASE WHEN staging.nullif_blank("HoSoCoThanhPhanSoHoa") IS NOT NULL AND has_digitized_component IS NULL THEN 'HoSoCoThanhPhanSoHoa' END,
        CASE WHEN staging.nullif_blank("TaiKhoanDuocXacThucVoiVNeID") IS NOT NULL AND vneid_verified IS NULL THEN 'TaiKhoanDuocXacThucVoiVNeID' END,
        CASE WHEN staging.nullif_blank("DuocThanhToanTrucTuyen") IS NOT NULL AND online_payment IS NULL THEN 'DuocThanhToanTrucTuyen' END,
        CASE WHEN staging.nullif_blank("DongBoDVCQG") IS NOT NULL AND synced_to_portal IS NULL THEN 'DongBoDVCQG' END,
        CASE WHEN staging.nullif_blank("CoPhieuXinLoi") IS NOT NULL AND has_apology IS NULL THEN 'CoPhieuXinLoi' END,
        CASE WHEN staging.nullif_blank("KetQuaDanhGia") IS NOT NULL AND rating IS NULL THEN 'KetQuaDanhGia' END,
        CASE WHEN staging.nullif_blank("DaXoa") IS NOT NULL AND is_deleted IS NULL THEN 'DaXoa' END
    ], NULL)                                             AS unreadable_fields,
    payload_hash
FROM parsed;

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
SELECT batch_id, ordinal, position, supplement_id, requested_at, answered_at, due_before, due_after,
       array_remove(ARRAY[
           CASE WHEN staging.nullif_blank("NgayBoSung") IS NOT NULL AND requested_at IS NULL THEN 'NgayBoSung' END,
           CASE WHEN staging.nullif_blank("NgayTiepNhanBoSung") IS NOT NULL AND answered_at IS NULL THEN 'NgayTiepNhanBoSung' END,
           CASE WHEN staging.nullif_blank("NgayHenTraTruoc") IS NOT NULL AND due_before IS NULL THEN 'NgayHenTraTruoc' END,
           CASE WHEN staging.nullif_blank("NgayHenTraMoi") IS NOT NULL AND due_after IS NULL THEN 'NgayHenTraMoi' END
       ], NULL)
FROM (
    SELECT r.batch_id, r.ordinal, item.position::int AS position,
           staging.nullif_blank(f."HoSoBoSungId") AS supplement_id,
           f."NgayBoSung", f."NgayTiepNhanBoSung", f."NgayHenTraTruoc", f."NgayHenTraMoi",
           staging.parse_source_timestamp(f."NgayBoSung")         AS requested_at,
           staging.parse_source_timestamp(f."NgayTiepNhanBoSung") AS answered_at,
           staging.parse_source_timestamp(f."NgayHenTraTruoc")    AS due_before,
           staging.parse_source_timestamp(f."NgayHenTraMoi")      AS due_after
    FROM raw.record r
    CROSS JOIN LATERAL jsonb_array_elements(
        CASE jsonb_typeof(r.payload->'DanhSachHoSoBoSung') WHEN 'array' THEN r.payload->'DanhSachHoSoBoSung' ELSE '[]' END
    ) WITH ORDINALITY AS item (value, position)
    CROSS JOIN LATERAL jsonb_to_record(item.value) AS f (
        "HoSoBoSungId" text, "NgayBoSung" text, "NgayTiepNhanBoSung" text, "NgayHenTraTruoc" text, "NgayHenTraMoi" text)
    WHERE r.batch_id = %(batch_id)s
) AS supplement;

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
