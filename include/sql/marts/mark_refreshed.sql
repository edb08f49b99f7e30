-- The loaded batches whose whole window lies in the refreshed range. Run first in the refresh
-- transaction: a batch that commits later is not marked and stays pending for the next refresh.
INSERT INTO mart.refreshed_batch (batch_id)
SELECT pending.batch_id
FROM quality.unrefreshed_batch AS pending
WHERE pending.window_start >= (%(first)s::date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh')
    AND pending.window_end <= (%(last_exclusive)s::date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh')
ON CONFLICT (batch_id) DO NOTHING;
