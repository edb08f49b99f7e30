-- mart: what BI tools read.
CREATE TABLE IF NOT EXISTS mart.indicator (
    indicator_code text PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('count', 'ratio', 'average')),
    label_vi       text NOT NULL,
    label_en       text NOT NULL
);

CREATE TABLE IF NOT EXISTS mart.indicator_value (
    period_type    text    NOT NULL CHECK (period_type IN ('month', 'quarter', 'half', 'year')),
    period_start   date    NOT NULL,
    unit_code      text    NOT NULL,
    unit_scheme    text    NOT NULL CHECK (unit_scheme IN ('as_recorded', 'current')),
    indicator_code text    NOT NULL REFERENCES mart.indicator,
    numerator      numeric,
    denominator    numeric,
    ratio          numeric,
    score          numeric,
    max_score      numeric,
    rule_version   text,
    computed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (period_type, period_start, unit_code, unit_scheme, indicator_code)
);
