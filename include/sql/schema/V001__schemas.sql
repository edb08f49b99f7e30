-- The warehouse layers: raw (records as extracted), staging (typed rows of the batches being
-- loaded), core (the current state), mart (what BI tools read) and quality (what was set aside and
-- the books of every batch). The migration ledger, meta, is the runner's own (tthc.warehouse.migrate).
CREATE SCHEMA raw;
CREATE SCHEMA staging;
CREATE SCHEMA core;
CREATE SCHEMA quality;
-- A deployment may have made mart already, to give it default privileges (docker/warehouse-init).
CREATE SCHEMA IF NOT EXISTS mart;

-- bi_reader reads mart and nothing else. Roles belong to the server, not to a database: the
-- deployment creates it with LOGIN and a password, and another warehouse on the same server may
-- have created it already; here it is made NOLOGIN only when missing.
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
-- Every table and view made in mart from here on is readable by bi_reader; its functions are
-- granted by the file that makes them (marts/views/R__mart_functions.sql).
ALTER DEFAULT PRIVILEGES IN SCHEMA mart GRANT SELECT ON TABLES TO bi_reader;
