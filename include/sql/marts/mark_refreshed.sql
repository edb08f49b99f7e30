-- The loaded batches whose whole window lies in the refreshed range. Run first in the refresh
-- transaction: a batch that commits later is not marked and stays pending for the next refresh.
INSERT INTO mart.refreshed_batch (batch_id)
SELECT b.batch_id
FROM raw.batch AS b
WHERE b.status = 'loaded'
  AND b.entity IN ('dossier', 'feedback')
  AND b.window_start IS NOT NULL
  AND b.window_start >= (%(first)s::date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh')
  AND b.window_end <= (%(last_exclusive)s::date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh')
ON CONFLICT (batch_id) DO NOTHING;
