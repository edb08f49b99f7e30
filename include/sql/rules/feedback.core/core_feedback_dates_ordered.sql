SELECT
    0 AS ordinal,
    fact.ma_pakn AS record_key,
    'handled ' || fact.handled_at || ' before received ' || fact.received_at AS detail
FROM {batch} AS fact
WHERE fact.handled_at < fact.received_at;
