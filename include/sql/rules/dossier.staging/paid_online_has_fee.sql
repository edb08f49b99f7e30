SELECT
    dossier.ordinal,
    dossier.dossier_code AS record_key,
    'DuocThanhToanTrucTuyen = ' || dossier.online_payment || ' but no fee line with Gia > 0' AS detail
FROM {batch} AS dossier
WHERE dossier.online_payment IN (1, 2)
    AND NOT EXISTS (
        SELECT 1 FROM staging.dossier_fee AS fee
        WHERE fee.batch_id = dossier.batch_id AND fee.ordinal = dossier.ordinal AND fee.amount > 0
    );
