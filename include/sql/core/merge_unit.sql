-- Merge one batch of units (the full list of source %(source_id)s) into the SCD-2 dimension, then
-- derive the lineage of the 2025-07-01 reorganisation and the closure used by roll-ups. Unit codes
-- are national: a unit belongs to the source whose list brought it (dim_unit.source_id); another
-- source may list it too (a merged province's system lists its predecessors' communes), as its
-- owner does or adding its dissolution (below).
CREATE TEMP TABLE incoming_unit ON COMMIT DROP AS
SELECT DISTINCT ON (unit_code)
    -- the staged row whole: the temp table has the staging table's columns
    u.*,  -- noqa: AM04
    b.extracted_at
FROM staging.unit AS u
INNER JOIN raw.batch AS b USING (batch_id)
WHERE u.batch_id = %(batch_id)s
    AND NOT EXISTS (
        SELECT 1 FROM quality.quarantine AS q
        WHERE q.batch_id = u.batch_id AND q.ordinal = u.ordinal AND q.resolved_at IS NULL
    )
    AND u.unit_code IS NOT NULL AND u.unit_name IS NOT NULL AND u.unit_type IS NOT NULL
ORDER BY unit_code ASC, source_updated_at DESC NULLS LAST, ordinal DESC;

-- This list against the current version of every unit another source owns. Two systems that
-- describe one national unit differently cannot both be right, with one exception: the system that
-- took a unit over in the 2025-07-01 reorganisation records its dissolution (HieuLucDen,
-- MaDonViMoi) while the legacy system that owned it may never learn of it. So a version that only
-- adds the dissolution to the owner's supersedes it (the unit passes to this source), one that
-- only lacks it is older knowledge (ignored), and any other difference stops the load.
CREATE TEMP TABLE foreign_unit ON COMMIT DROP AS
WITH compared AS (
    SELECT
        i.unit_code,
        cur.unit_version_id,
        i.valid_to IS NULL AND cardinality(i.successor_codes) = 0 AS listed_without_dissolution,
        cur.valid_to IS NULL AND cardinality(cur.successor_codes) = 0 AS owned_without_dissolution,
        (
            cur.valid_to IS DISTINCT FROM i.valid_to
            OR cur.successor_codes IS DISTINCT FROM i.successor_codes
        ) AS dissolution_differs,
        (
            cur.unit_name IS DISTINCT FROM i.unit_name
            OR cur.unit_type IS DISTINCT FROM i.unit_type
            OR cur.parent_code IS DISTINCT FROM i.parent_code
            OR cur.gso_code IS DISTINCT FROM i.gso_code
            OR cur.valid_from IS DISTINCT FROM i.valid_from
        ) AS unit_differs,
        cur.source_id || ': ' || cur.unit_name || ', parent ' || coalesce(cur.parent_code, '-') || ', valid '
        || coalesce(cur.valid_from::text, '-') || '..' || coalesce(cur.valid_to::text, '-') || ', successors '
        || coalesce(nullif(array_to_string(cur.successor_codes, ','), ''), '-') || '; ' || %(source_id)s
        || ': ' || i.unit_name || ', parent ' || coalesce(i.parent_code, '-') || ', valid '
        || coalesce(i.valid_from::text, '-') || '..' || coalesce(i.valid_to::text, '-') || ', successors '
        || coalesce(nullif(array_to_string(i.successor_codes, ','), ''), '-') AS versions
    FROM incoming_unit AS i
    INNER JOIN core.dim_unit AS cur ON i.unit_code = cur.unit_code AND cur.row_valid_to IS NULL
    WHERE cur.source_id <> %(source_id)s
)

SELECT
    unit_code,
    unit_version_id,
    versions,
    CASE
        WHEN unit_differs THEN 'conflict'
        WHEN NOT dissolution_differs THEN 'same'
        WHEN owned_without_dissolution THEN 'records_dissolution'
        WHEN listed_without_dissolution THEN 'without_dissolution'
        ELSE 'conflict'
    END AS comparison
FROM compared;

-- Stop with both versions named, for a person to settle, rather than let one overwrite the other.
SELECT
    core.raise_error(
        'units listed differently by source ' || %(source_id)s || ' and by the source that owns them: '
        || string_agg(unit_code || ' (' || versions || ')', '; ' ORDER BY unit_code)
    )
FROM foreign_unit
WHERE comparison = 'conflict'
HAVING count(*) > 0;

-- The owner's versions this list completes with their dissolution: closed, this source's go in.
UPDATE core.dim_unit AS d
SET
    row_valid_to = (
        SELECT extracted_at FROM raw.batch
        WHERE batch_id = %(batch_id)s
    )
FROM foreign_unit AS f
WHERE d.unit_version_id = f.unit_version_id AND f.comparison = 'records_dissolution';

-- Close versions of the source's own units that changed, and those it no longer lists.
UPDATE core.dim_unit AS d
SET
    row_valid_to = coalesce(i.extracted_at, (
        SELECT extracted_at FROM raw.batch
        WHERE batch_id = %(batch_id)s
    ))
FROM core.dim_unit AS cur
LEFT JOIN incoming_unit AS i ON cur.unit_code = i.unit_code
WHERE d.unit_version_id = cur.unit_version_id
    AND cur.source_id = %(source_id)s
    AND cur.row_valid_to IS NULL
    AND (
        i.unit_code IS NULL
        OR (
            cur.unit_name, cur.unit_type, cur.parent_code, cur.gso_code, cur.valid_from, cur.valid_to,
            cur.successor_codes
        )
        IS DISTINCT FROM (
            i.unit_name, i.unit_type, i.parent_code, i.gso_code, i.valid_from, i.valid_to, i.successor_codes
        )
    );

INSERT INTO core.dim_unit (
    source_id, unit_code, unit_name, unit_type, parent_code, gso_code, valid_from, valid_to,
    successor_codes, source_updated_at, row_valid_from, batch_id
)
SELECT
    %(source_id)s,
    i.unit_code,
    i.unit_name,
    i.unit_type,
    i.parent_code,
    i.gso_code,
    i.valid_from,
    i.valid_to,
    i.successor_codes,
    i.source_updated_at,
    i.extracted_at,
    i.batch_id
FROM incoming_unit AS i
WHERE NOT EXISTS (
        SELECT 1 FROM core.dim_unit AS d
        WHERE d.unit_code = i.unit_code AND d.row_valid_to IS NULL
    );

INSERT INTO core.unit_lineage (predecessor_code, successor_code, effective_date)
SELECT
    d.unit_code,
    successor,
    coalesce(d.valid_to + 1, date '2025-07-01')
FROM core.dim_unit AS d
CROSS JOIN LATERAL unnest(d.successor_codes) AS successor
WHERE d.row_valid_to IS NULL
ON CONFLICT (predecessor_code, successor_code) DO NOTHING;

-- More than one province (a merged province's systems, or a national warehouse): the nation
-- (code VN) above them, so that every figure rolls up to it. No source sends it or owns it.
INSERT INTO core.dim_unit (
    source_id, unit_code, unit_name, unit_type, parent_code, valid_from, row_valid_from, batch_id
)
SELECT
    'national',
    'VN',
    'Cả nước',
    'QUOC_GIA',
    NULL,
    NULL,
    now(),
    %(batch_id)s
WHERE (
    SELECT count(*) FROM core.dim_unit
    WHERE row_valid_to IS NULL AND unit_type = 'TINH' AND parent_code IS NULL
) > 1
AND NOT EXISTS (
    SELECT 1 FROM core.dim_unit
    WHERE unit_code = 'VN' AND row_valid_to IS NULL
);

DELETE FROM core.unit_closure;
INSERT INTO core.unit_closure (ancestor_code, descendant_code, depth)
WITH RECURSIVE tree AS (
    SELECT
        unit_code AS ancestor_code,
        unit_code AS descendant_code,
        0 AS depth
    FROM core.unit_tree
    UNION ALL
    SELECT
        parent.parent_code,
        tree.descendant_code,
        tree.depth + 1
    FROM tree
    INNER JOIN core.unit_tree AS parent ON tree.ancestor_code = parent.unit_code
    WHERE parent.parent_code IS NOT NULL AND tree.depth < 10
)

SELECT
    ancestor_code,
    descendant_code,
    min(depth)
FROM tree
GROUP BY ancestor_code, descendant_code;

-- New versions written by this batch: what the loader reports as changed.
SELECT count(*) FROM core.dim_unit
WHERE batch_id = %(batch_id)s;
