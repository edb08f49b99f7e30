-- The mart's functions: the Decision 766 scoring formula and the period labels BI tools show.

-- A period as a Vietnamese report names it: "Tháng 3/2024", "Quý 1/2024", "6 tháng đầu năm 2024".
CREATE OR REPLACE FUNCTION mart.period_label(period_type text, period_start date)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE period_type
        WHEN 'month'   THEN 'Tháng ' || extract(month FROM period_start) || '/' || extract(year FROM period_start)
        WHEN 'quarter' THEN 'Quý ' || extract(quarter FROM period_start) || '/' || extract(year FROM period_start)
        WHEN 'half'    THEN CASE WHEN extract(month FROM period_start) = 1 THEN '6 tháng đầu năm ' ELSE '6 tháng cuối năm ' END
                            || extract(year FROM period_start)
        WHEN 'year'    THEN 'Năm ' || extract(year FROM period_start)
    END
$$;

-- The formula alone, inlinable in set-based refreshes. Scores are published with two decimals.
-- linear: max x ratio; full_at X: min(max, max x ratio / X); no denominator: full points for the
-- items that say so (PAKN), else 0.
CREATE OR REPLACE FUNCTION mart.apply_scoring_rule(
    rule_kind text, max_points numeric, threshold numeric,
    full_when_empty boolean, numerator numeric,
    denominator numeric
)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN rule_kind IS NULL OR rule_kind = 'not_scored' THEN NULL
        WHEN coalesce(denominator, 0) = 0 THEN CASE WHEN full_when_empty THEN max_points ELSE 0 END
        WHEN rule_kind = 'linear' THEN round(max_points * numerator / denominator, 2)
        WHEN rule_kind = 'full_at' THEN round(least(max_points, max_points * numerator / denominator / threshold), 2)
    END
$$;

-- The one entry point: the rule in force on at_date for that indicator (NULL when none scores it).
CREATE OR REPLACE FUNCTION mart.score_indicator(
    indicator_code text, numerator numeric, denominator numeric,
    at_date date
)
RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT mart.apply_scoring_rule(r.rule_kind, r.max_points, r.threshold, r.full_when_empty,
                                   score_indicator.numerator, score_indicator.denominator)
    FROM mart.scoring_rule AS r
    WHERE r.indicator_code = score_indicator.indicator_code
      AND r.valid_from <= at_date AND (r.valid_to IS NULL OR r.valid_to > at_date)
$$;

COMMENT ON FUNCTION mart.score_indicator(text, numeric, numeric, date) IS
'Điểm 766 của một chỉ số theo quy tắc có hiệu lực tại ngày at_date (làm tròn 2 chữ số)';

-- A view's function calls are checked against its reader, not its owner: bi_reader needs EXECUTE.
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA mart TO bi_reader;
