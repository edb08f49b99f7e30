-- How source values are read: the one place that knows the export API's date and number formats
-- (source-api.md, "Dates"). A value that is absent ("" or null) reads as NULL; a value that is
-- present but not readable also reads as NULL, and staging.is_unreadable_* tells the two apart so
-- the quality gate can quarantine it instead of silently losing it.

-- yyyyMMddHHmmss, yyyy-MM-dd HH:mm:ss, ISO 8601 with or without fractions and offset.
-- Local time (Asia/Ho_Chi_Minh) unless an offset is written. Impossible calendar values
-- (2023-02-30, month 13) read as NULL rather than raising, so one bad record cannot fail a batch.
CREATE OR REPLACE FUNCTION staging.parse_source_timestamp(value text)
RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    part text[];
    local_ts timestamp;
BEGIN
    IF value IS NULL OR btrim(value) = '' THEN
        RETURN NULL;
    END IF;
    part := regexp_match(value, '^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$');
    IF part IS NULL THEN
        part := regexp_match(
            value,
            '^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2}(?:\.\d{1,6})?)(Z|[+-]\d{2}(?::?\d{2})?)?$'
        );
    END IF;
    IF part IS NULL
       OR part[2]::int NOT BETWEEN 1 AND 12
       OR part[3]::int < 1
       OR part[3]::int > extract(day from make_date(part[1]::int, part[2]::int, 1) + interval '1 month - 1 day')
       OR part[4]::int > 23 OR part[5]::int > 59 OR part[6]::numeric >= 60 THEN
        RETURN NULL;
    END IF;
    local_ts := make_timestamp(part[1]::int, part[2]::int, part[3]::int,
                               part[4]::int, part[5]::int, part[6]::double precision);
    IF part[7] IS NULL THEN
        RETURN local_ts AT TIME ZONE 'Asia/Ho_Chi_Minh';
    ELSIF part[7] = 'Z' THEN
        RETURN local_ts AT TIME ZONE 'UTC';
    END IF;
    -- An interval (not a zone name) keeps the ISO sign convention: +07:00 is east of Greenwich.
    RETURN local_ts AT TIME ZONE (CASE length(part[7])
        WHEN 3 THEN part[7] || ':00'
        WHEN 5 THEN substr(part[7], 1, 3) || ':' || substr(part[7], 4, 2)
        ELSE part[7] END)::interval;
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
