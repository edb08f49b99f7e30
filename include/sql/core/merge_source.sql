-- The configured sources (tthc.sources, as JSON in %(sources)s) into core.source: added and
-- changed entries written, none removed (a source no longer configured keeps its history).
INSERT INTO core.source (source_id, source_name, conn_id, active_from, active_to)
SELECT
    s.id,
    s.name,
    s.conn_id,
    s.active_from,
    s.active_to
FROM jsonb_to_recordset(%(sources)s::jsonb) AS s (id text, name text, conn_id text, active_from date, active_to date)
ON CONFLICT (source_id) DO UPDATE
    SET source_name = EXCLUDED.source_name, conn_id = EXCLUDED.conn_id, active_from = EXCLUDED.active_from,
        active_to = EXCLUDED.active_to, configured_at = now()
    WHERE (core.source.source_name, core.source.conn_id, core.source.active_from, core.source.active_to)
    IS DISTINCT FROM (EXCLUDED.source_name, EXCLUDED.conn_id, EXCLUDED.active_from, EXCLUDED.active_to);
