-- bi_reader: reads mart and nothing else. Created NOLOGIN here (roles are cluster-wide; the
-- deployment gives it LOGIN and a password). Applied last so every mart object exists; default
-- privileges cover tables and views that later migrations add to mart.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bi_reader') THEN
        CREATE ROLE bi_reader NOLOGIN;
    END IF;
EXCEPTION
    -- another database of the same server created it at the same moment
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

GRANT USAGE ON SCHEMA mart TO bi_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA mart TO bi_reader;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA mart TO bi_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA mart GRANT SELECT ON TABLES TO bi_reader;

-- Nothing elsewhere, even if someone granted it by hand.
DO $$
DECLARE
    other text;
BEGIN
    FOR other IN SELECT nspname FROM pg_namespace
                 WHERE nspname IN ('raw', 'staging', 'core', 'quality', 'meta')
    LOOP
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM bi_reader', other);
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM bi_reader', other);
    END LOOP;
END
$$;
