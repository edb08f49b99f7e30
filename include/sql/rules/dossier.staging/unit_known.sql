SELECT
    dossier.ordinal,
    dossier.dossier_code AS record_key,
    'unknown unit, or not valid on NgayTiepNhan: MaDonViXuLy=' || coalesce(dossier.competent_unit_code, 'null')
    || ', MaDonViTiepNhan=' || coalesce(dossier.receiving_unit_code, 'null') AS detail
FROM {batch} AS dossier
WHERE
    NOT EXISTS (
        SELECT 1 FROM core.dim_unit AS unit
        WHERE unit.row_valid_to IS NULL
            AND unit.unit_code = dossier.competent_unit_code
            AND (
                dossier.received_at IS NULL
                OR (
                    (dossier.received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
                    >= coalesce(unit.valid_from, date '-infinity')
                    AND (dossier.received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
                    <= coalesce(unit.valid_to, date 'infinity')
                )
            )
    )
    OR NOT EXISTS (
        SELECT 1 FROM core.dim_unit AS unit
        WHERE unit.row_valid_to IS NULL AND unit.unit_code = dossier.receiving_unit_code
    );
