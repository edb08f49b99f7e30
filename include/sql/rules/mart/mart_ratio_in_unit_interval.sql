SELECT
    0 AS ordinal,
    v.unit_code || ' ' || v.indicator_code || ' ' || v.period_type || ' ' || v.period_start AS record_key,
    'ratio ' || v.ratio || ' outside [0, 1]' AS detail
FROM {batch} AS v
INNER JOIN mart.indicator AS i USING (indicator_code)
WHERE i.kind = 'ratio' AND (v.ratio < 0 OR v.ratio > 1);
