-- The days of the loaded, windowed batches that no refresh has covered yet (NULLs when none):
-- from the first window's first day to the day after the last window's last instant.
SELECT
    min((pending.window_start AT TIME ZONE 'Asia/Ho_Chi_Minh')::date) AS first,
    max((pending.window_end AT TIME ZONE 'Asia/Ho_Chi_Minh' - interval '1 microsecond')::date) + 1 AS last_exclusive
FROM quality.unrefreshed_batch AS pending;
