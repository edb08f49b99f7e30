-- The demo's headline: per district, the year's on-time rate and the half-year's digitized-result
-- share and online-payment rate, as provincial reports quote them.
SELECT unit.unit_code,
       unit.unit_name,
       max(value.ratio) FILTER (WHERE value.indicator_code = 'ON_TIME_FINISHED'
                                  AND value.period_type = 'year' AND value.period_start = %(year_start)s::date) AS on_time,
       max(value.ratio) FILTER (WHERE value.indicator_code = 'RESULT_DIGITIZED'
                                  AND value.period_type = 'half' AND value.period_start = %(half_start)s::date) AS result_digitized,
       max(value.ratio) FILTER (WHERE value.indicator_code = 'ONLINE_PAYMENT'
                                  AND value.period_type = 'half' AND value.period_start = %(half_start)s::date) AS online_payment
FROM core.dim_unit AS unit
JOIN mart.indicator_value AS value
  ON value.unit_code = unit.unit_code AND value.unit_scheme = 'as_recorded'
WHERE unit.row_valid_to IS NULL AND unit.unit_type = 'HUYEN'
GROUP BY unit.unit_code, unit.unit_name
ORDER BY unit.unit_code;
