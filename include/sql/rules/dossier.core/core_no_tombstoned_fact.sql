WITH tombstone AS (
    SELECT
        source_id,
        ma_ho_so,
        deleted_at
    FROM core.dossier_tombstone
    -- a fence: the tombstones are hashed once, not probed per fact through their index
    OFFSET 0  -- noqa: AM09
)

SELECT
    0 AS ordinal,
    fact.ma_ho_so AS record_key,
    'live fact row whose code is tombstoned since ' || tombstone.deleted_at AS detail
FROM {batch} AS fact
INNER JOIN tombstone ON fact.source_id = tombstone.source_id AND fact.ma_ho_so = tombstone.ma_ho_so;
