SELECT
    dossier.ordinal,
    dossier.dossier_code AS record_key,
    'fee line with Gia < 0 or not a number: ' || (
        SELECT string_agg(coalesce(line ->> 'Gia', 'null'), ', ')
        FROM jsonb_array_elements(raw.payload -> 'DanhSachLePhi') AS line
    ) AS detail
FROM {batch} AS dossier
INNER JOIN raw.record AS raw ON dossier.batch_id = raw.batch_id AND dossier.ordinal = raw.ordinal
WHERE EXISTS (
        SELECT 1 FROM staging.dossier_fee AS fee
        WHERE fee.batch_id = dossier.batch_id
            AND fee.ordinal = dossier.ordinal
            AND (fee.amount < 0 OR fee.amount_unreadable)
    );
