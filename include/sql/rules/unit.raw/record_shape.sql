SELECT
    raw.ordinal,
    raw.record_key,
    'payload is not an object or lacks a field of the contract: ' || coalesce(
        (
            SELECT string_agg(k, ', ') FROM unnest(ARRAY['MaDonVi', 'TenDonVi', 'LoaiDonVi']) AS k
            WHERE NOT (raw.payload ? k)
        ),
        jsonb_typeof(raw.payload)
    ) AS detail
FROM {batch} AS raw
WHERE jsonb_typeof(raw.payload) <> 'object' OR NOT (raw.payload ?& ARRAY['MaDonVi', 'TenDonVi', 'LoaiDonVi']);
