SELECT
    0 AS ordinal,
    v.unit_code || ' ' || v.indicator_code || ' ' || v.period_type || ' ' || v.period_start AS record_key,
    'score ' || v.score || ' outside [0, ' || coalesce(v.max_score::text, 'null') || ']' AS detail
FROM {batch} AS v
WHERE v.score < 0 OR v.score > v.max_score OR (v.score IS NOT NULL AND v.max_score IS NULL);
