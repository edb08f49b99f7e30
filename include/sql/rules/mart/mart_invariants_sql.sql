SELECT
    0 AS ordinal,
    violation.check_name || ' ' || violation.unit_code || ' ' || violation.unit_scheme
    || ' ' || violation.indicator_code || ' ' || violation.period_type || ' ' || violation.period_start AS record_key,
    violation.detail
FROM ({sql:marts/invariants.sql}) AS violation;
