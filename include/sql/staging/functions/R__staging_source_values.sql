-- How source values are read: the one place in SQL that knows the export API's date and number
-- formats (docs/source-api.md, "Value formats"). A value that is absent ("" or null) reads as NULL;
-- a value that is present but not readable also reads as NULL, and staging.is_unreadable_* tells
-- the two apart, so the quality gate can quarantine it instead of silently losing it.

-- yyyyMMddHHmmss, yyyy-MM-dd HH:mm:ss, ISO 8601 with or without fractions and offset.
-- Local time (Asia/Ho_Chi_Minh) unless an offset is written. Impossible calendar values
-- (2023-02-30, month 13) read as NULL rather than raising, so one bad record cannot fail a batch.
-- Shapes are checked with capture-free patterns and cut with substr: regexp_match with capture
-- groups is many times slower, and staging calls this for every date of every record.
CREATE OR REPLACE FUNCTION staging.parse_source_timestamp(value text)
RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    y int; mo int; d int; h int; mi int;
    seconds numeric;
    tail text;
    zone text;
BEGIN
    IF value IS NULL OR btrim(value) = '' THEN
        RETURN NULL;
    ELSIF value ~ '^\d{14}$' THEN
        y := substr(value, 1, 4)::int;  mo := substr(value, 5, 2)::int;  d := substr(value, 7, 2)::int;
        h := substr(value, 9, 2)::int;  mi := substr(value, 11, 2)::int; seconds := substr(value, 13, 2)::int;
        tail := '';
    ELSIF value ~ '^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}(:?\d{2})?)?$' THEN
        y := substr(value, 1, 4)::int;  mo := substr(value, 6, 2)::int;  d := substr(value, 9, 2)::int;
        h := substr(value, 12, 2)::int; mi := substr(value, 15, 2)::int; seconds := substr(value, 18, 2)::int;
        tail := substr(value, 20);
        IF tail LIKE '.%' THEN
            zone := ltrim(substr(tail, 2), '0123456789');
            seconds := seconds + ('0' || substr(tail, 1, length(tail) - length(zone)))::numeric;
            tail := zone;
        END IF;
    ELSE
        RETURN NULL;
    END IF;
    IF mo NOT BETWEEN 1 AND 12 OR d < 1 OR h > 23 OR mi > 59 OR seconds >= 60
       OR d > extract(day FROM make_date(y, mo, 1) + interval '1 month - 1 day') THEN
        RETURN NULL;
    END IF;
    IF tail = '' THEN
        RETURN make_timestamp(y, mo, d, h, mi, seconds::double precision) AT TIME ZONE 'Asia/Ho_Chi_Minh';
    ELSIF tail = 'Z' THEN
        RETURN make_timestamp(y, mo, d, h, mi, seconds::double precision) AT TIME ZONE 'UTC';
    END IF;
    -- An interval (not a zone name) keeps the ISO sign convention: +07:00 is east of Greenwich.
    zone := CASE length(tail)
        WHEN 3 THEN tail || ':00'
        WHEN 5 THEN substr(tail, 1, 3) || ':' || substr(tail, 4, 2)
        ELSE tail END;
    RETURN make_timestamp(y, mo, d, h, mi, seconds::double precision) AT TIME ZONE zone::interval;
END;
$$;

CREATE OR REPLACE FUNCTION staging.is_unreadable_timestamp(value text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT value IS NOT NULL AND btrim(value) <> '' AND staging.parse_source_timestamp(value) IS NULL
$$;

-- yyyyMMdd (unit validity). Same contract as above.
CREATE OR REPLACE FUNCTION staging.parse_source_date(value text)
RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN value ~ '^\d{8}$'
         AND substr(value, 5, 2)::int BETWEEN 1 AND 12
         AND substr(value, 7, 2)::int BETWEEN 1 AND extract(day from
                make_date(substr(value, 1, 4)::int, substr(value, 5, 2)::int, 1) + interval '1 month - 1 day')
        THEN make_date(substr(value, 1, 4)::int, substr(value, 5, 2)::int, substr(value, 7, 2)::int)
        ELSE (staging.parse_source_timestamp(value) AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
    END
$$;

-- Whole numbers arrive as JSON numbers or strings; anything else reads as NULL.
CREATE OR REPLACE FUNCTION staging.parse_source_int(value text)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN btrim(value) ~ '^-?\d{1,9}$' THEN btrim(value)::integer END
$$;

CREATE OR REPLACE FUNCTION staging.is_unreadable_int(value text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT value IS NOT NULL AND btrim(value) <> '' AND staging.parse_source_int(value) IS NULL
$$;

CREATE OR REPLACE FUNCTION staging.parse_source_numeric(value text)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN btrim(value) ~ '^-?\d+(\.\d+)?$' THEN btrim(value)::numeric END
$$;

CREATE OR REPLACE FUNCTION staging.parse_source_bool(value text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE lower(btrim(value)) WHEN 'true' THEN true WHEN '1' THEN true
                                    WHEN 'false' THEN false WHEN '0' THEN false END
$$;

CREATE OR REPLACE FUNCTION staging.nullif_blank(value text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(btrim(value), '')
$$;
