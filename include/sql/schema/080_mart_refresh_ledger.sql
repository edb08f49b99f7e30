-- Which loaded batches a refresh of the indicators has covered. An asset-triggered refresh also
-- covers every loaded batch no refresh has covered yet: asset events that arrive within
-- milliseconds of each other can be lost by the scheduler (apache/airflow#56050 and related),
-- and without this their windows would stay stale until some later load.
CREATE TABLE IF NOT EXISTS mart.refreshed_batch (
    batch_id     bigint      PRIMARY KEY,
    refreshed_at timestamptz NOT NULL DEFAULT now()
);
