-- Compare the source's daily counts (copied into the temp table source_count) with the warehouse,
-- per competent unit and day. The source counts every record it holds, so the warehouse side is
-- live facts plus open quarantine (records set aside are still the source's records).
-- Received: status not 1 or 3, not deleted, by NgayTiepNhan; finished: status 7-10 by
-- NgayKetThucXuLy (docs/source-api.md, "Daily counts"). One source at a time (%(source_id)s): its
-- counts are of its own records.
WITH open_quarantine AS (   -- one row per quarantined record (a record may break several rules)
    SELECT DISTINCT
        q.batch_id,
        q.ordinal,
        q.record_key,
        q.payload
    FROM quality.quarantine AS q
    WHERE q.source_id = %(source_id)s AND q.entity = 'dossier' AND q.resolved_at IS NULL
),

latest_batch AS (           -- a record re-extracted later is counted in its latest batch only
    SELECT
        record_key,
        max(batch_id) AS batch_id
    FROM open_quarantine
    WHERE record_key IS NOT NULL
    GROUP BY record_key
),

quarantined AS (
    SELECT
        q.payload ->> 'MaDonViXuLy' AS unit_code,
        staging.parse_source_timestamp(q.payload ->> 'NgayTiepNhan') AS received_at,
        staging.parse_source_timestamp(q.payload ->> 'NgayKetThucXuLy') AS finished_at,
        staging.parse_source_int(q.payload ->> 'TrangThaiHoSo') AS status,
        staging.parse_source_int(q.payload ->> 'DaXoa') AS is_deleted
    FROM open_quarantine AS q
    LEFT JOIN latest_batch AS latest USING (record_key)
    WHERE (q.record_key IS NULL OR q.batch_id = latest.batch_id)
        AND NOT EXISTS (
            SELECT 1 FROM core.fact_dossier AS f
            WHERE f.source_id = %(source_id)s AND f.ma_ho_so = q.record_key
        )
),

held AS (
    SELECT
        competent_unit_code AS unit_code,
        received_at,
        finished_at,
        status
    FROM core.fact_dossier
    WHERE source_id = %(source_id)s
    UNION ALL
    SELECT
        unit_code,
        received_at,
        finished_at,
        status
    FROM quarantined
    WHERE coalesce(is_deleted, 0) = 0
),

warehouse_received AS (
    SELECT
        unit_code,
        (received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day,
        count(*) AS n
    FROM held
    WHERE status NOT IN (1, 3) AND received_at IS NOT NULL
    GROUP BY 1, 2
),

warehouse_finished AS (
    SELECT
        unit_code,
        (finished_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day,
        count(*) AS n
    FROM held
    WHERE status BETWEEN 7 AND 10 AND finished_at IS NOT NULL
    GROUP BY 1, 2
),

compared AS (
    SELECT
        s.unit_code,
        s.day,
        s.received AS source_received,
        coalesce(r.n, 0) AS warehouse_received,
        s.finished AS source_finished,
        coalesce(f.n, 0) AS warehouse_finished
    FROM source_count AS s
    LEFT JOIN warehouse_received AS r USING (unit_code, day)
    LEFT JOIN warehouse_finished AS f USING (unit_code, day)
),

judged AS (
    INSERT INTO quality.reconciliation (
        checked_at, source_id, unit_code, day, source_received, warehouse_received, source_finished,
        warehouse_finished, within_tolerance
    )
    SELECT
        %(checked_at)s,
        %(source_id)s,
        unit_code,
        day,
        source_received,
        warehouse_received,
        source_finished,
        warehouse_finished,
        abs(source_received - warehouse_received) <= greatest(%(max_share)s * source_received, %(max_absolute)s)
        AND abs(source_finished - warehouse_finished) <= greatest(%(max_share)s * source_finished, %(max_absolute)s)
    FROM compared
    RETURNING *
)

SELECT
    unit_code,
    day,
    source_received,
    warehouse_received,
    source_finished,
    warehouse_finished
FROM judged
WHERE NOT within_tolerance
ORDER BY day, unit_code;
