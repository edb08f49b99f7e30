-- The 766 scorecard per unit, period and scheme, and the road to a better rank.

CREATE TABLE IF NOT EXISTS mart.score_766 (
    period_type           text    NOT NULL CHECK (period_type IN ('month', 'quarter', 'half', 'year')),
    period_start          date    NOT NULL,
    unit_code             text    NOT NULL,
    unit_scheme           text    NOT NULL CHECK (unit_scheme IN ('as_recorded', 'current')),
    unit_type             text    NOT NULL,
    parent_code           text,
    transparency_score    numeric,            -- only item 1.4 (SYNC_RATE) can be scored
    progress_score        numeric,
    online_service_score  numeric,
    online_payment_score  numeric,
    digitization_score    numeric,
    satisfaction_score    numeric,
    total_score           numeric NOT NULL,
    max_score             numeric NOT NULL,   -- 100: every item, scored or not
    max_available         numeric NOT NULL,   -- the points of the items that could be scored
    score_share           numeric,            -- total_score / max_available
    not_scored            text,               -- items left out, with their points and reason
    rank_in_level         integer NOT NULL,
    units_in_level        integer NOT NULL,
    band_code             text,
    rule_version          text,
    computed_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (period_type, period_start, unit_code, unit_scheme)
);

CREATE TABLE IF NOT EXISTS mart.rank_gap (
    period_type        text    NOT NULL,
    period_start       date    NOT NULL,
    unit_code          text    NOT NULL,
    unit_scheme        text    NOT NULL,
    indicator_code     text    NOT NULL,
    item_code          text    NOT NULL,
    numerator          numeric,
    denominator        numeric,
    score              numeric,
    max_score          numeric,
    points_lost        numeric,            -- max_score - score
    total_score        numeric,
    rank_in_level      integer,
    units_in_level     integer,
    next_rank          integer,            -- the rank of the unit(s) just above; NULL when first
    next_units         text,               -- their codes
    gap_points         numeric,            -- points to reach the unit(s) just above
    points_per_extra   numeric,            -- points one more dossier/procedure/commune/PAKN earns
    extra_needed_alone integer,            -- if this indicator alone closed the gap; NULL = it cannot
    extra_in_plan      integer,            -- share of the cheapest dossier-only combination
    computed_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (period_type, period_start, unit_code, unit_scheme, indicator_code)
);
