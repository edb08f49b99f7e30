-- Merge the working-day calendar (copied into the temp table incoming_day) into core.dim_date.
-- A day only changes when its facts changed, so the daily reference load usually writes nothing.
WITH merged AS (
    INSERT INTO core.dim_date (day, is_working_day, holiday_name, lunar_date, source)
    SELECT
        day,
        is_working_day,
        holiday_name,
        lunar_date,
        source
    FROM incoming_day
    ON CONFLICT (day) DO UPDATE
        SET is_working_day = EXCLUDED.is_working_day, holiday_name = EXCLUDED.holiday_name,
            lunar_date = EXCLUDED.lunar_date, source = EXCLUDED.source
        WHERE (core.dim_date.is_working_day, core.dim_date.holiday_name, core.dim_date.lunar_date, core.dim_date.source)
        IS DISTINCT FROM (EXCLUDED.is_working_day, EXCLUDED.holiday_name, EXCLUDED.lunar_date, EXCLUDED.source)
    RETURNING 1
)

SELECT count(*) FROM merged;
