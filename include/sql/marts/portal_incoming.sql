-- The start of one period's write of what the portal published (tthc.portal.store_period): the
-- period's lock (two fetches of one period write one after the other) and the temp tables the
-- fetched rows are copied into, dropped at commit.
SELECT pg_advisory_xact_lock(hashtext('tthc.portal.' || %(period_type)s || '.' || %(period_start)s));

CREATE TEMP TABLE incoming_portal_score (
    unit_code text PRIMARY KEY,
    unit_name text,
    transparency_score numeric,
    progress_score numeric,
    online_service_score numeric,
    online_payment_score numeric,
    digitization_score numeric,
    satisfaction_score numeric,
    total_score numeric
) ON COMMIT DROP;

CREATE TEMP TABLE incoming_portal_metric (
    unit_code text NOT NULL,
    item_code text NOT NULL,
    portal_group text NOT NULL,
    ratio numeric,
    score numeric,
    max_score numeric,
    numerator numeric,
    denominator numeric,
    PRIMARY KEY (unit_code, item_code)
) ON COMMIT DROP;

-- The units whose published rows this fetch replaces: the root's subtree and whatever came back.
CREATE TEMP TABLE incoming_portal_scope (unit_code text PRIMARY KEY) ON COMMIT DROP;
