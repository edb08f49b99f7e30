-- The days of the loaded, windowed batches that no refresh has covered yet (NULLs when none):
-- from the first window's first day to the day after the last window's last instant.
SELECT min((b.window_start AT TIME ZONE 'Asia/Ho_Chi_Minh')::date)                                 AS first,
       max((b.window_end AT TIME ZONE 'Asia/Ho_Chi_Minh' - interval '1 microsecond')::date) + 1    AS last_exclusive
FROM raw.batch AS b
WHERE b.status = 'loaded'
  AND b.entity IN ('dossier', 'feedback')
  AND b.window_start IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM mart.refreshed_batch AS r WHERE r.batch_id = b.batch_id);
