-- The loaded, windowed batches that no indicator refresh has covered yet: what an asset-triggered
-- refresh widens its range to (marts/pending_refresh.sql), what a refresh marks as covered
-- (marts/mark_refreshed.sql) and what the mart freshness check watches
-- (tthc.quality.freshness). In quality, not mart: BI readers need not see it.
CREATE OR REPLACE VIEW quality.unrefreshed_batch AS
SELECT
    b.batch_id,
    b.entity,
    b.window_start,
    b.window_end,
    b.loaded_at
FROM raw.batch AS b
WHERE b.status = 'loaded'
    AND b.entity IN ('dossier', 'feedback')
    AND b.window_start IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM mart.refreshed_batch AS r
        WHERE r.batch_id = b.batch_id
    );
