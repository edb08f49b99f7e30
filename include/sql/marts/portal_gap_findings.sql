-- What the portal-gap alert names (docs/portal.md, "The alert"), for the periods of one fetch run
-- (%(period_types)s, %(period_starts)s): per unit and period, as recorded (the primary scheme),
-- a published total more than %(max_points_below)s points below the province's own, or an item the
-- unsynchronized dossiers do not explain (mart.portal_gap.explained = false).
WITH asked AS (
    SELECT
        period_type,
        period_start
    FROM unnest(%(period_types)s::text[], %(period_starts)s::date[]) AS asked (period_type, period_start)
),

unexplained AS (
    SELECT
        g.period_type,
        g.period_start,
        g.unit_code,
        string_agg(
            g.item_code || ' (' || g.own_synced_numerator || '/' || g.own_synced_denominator
            || ' vs ' || coalesce(g.portal_numerator::text, '?') || '/' || coalesce(g.portal_denominator::text, '?')
            || ')',
            ', ' ORDER BY g.item_code
        ) AS items
    FROM mart.portal_gap AS g
    INNER JOIN asked USING (period_type, period_start)
    WHERE g.unit_scheme = 'as_recorded' AND g.explained = FALSE
    GROUP BY g.period_type, g.period_start, g.unit_code
),

losing AS (     -- the items that lose most, for the lines of the alert
    SELECT
        g.period_type,
        g.period_start,
        g.unit_code,
        string_agg(
            g.item_code || ' ' || (g.own_score - g.portal_score), ', '
            ORDER BY g.own_score - g.portal_score DESC, g.item_code
        ) FILTER (WHERE g.own_score - g.portal_score > 0) AS items
    FROM mart.portal_gap AS g
    INNER JOIN asked USING (period_type, period_start)
    WHERE g.unit_scheme = 'as_recorded'
    GROUP BY g.period_type, g.period_start, g.unit_code
)

SELECT
    s.period_type,
    s.period_start,
    mart.period_label(s.period_type, s.period_start) AS period_label,
    s.unit_code,
    s.unit_name,
    s.portal_total,
    s.own_total,
    s.own_synced_total,
    s.points_from_sync,
    s.points_not_explained,
    s.unsynced_dossiers,
    s.own_total - s.portal_total AS points_below,
    s.own_total - s.portal_total > %(max_points_below)s AS below_threshold,
    u.items AS unexplained_items,
    l.items AS losing_items
FROM mart.bi_portal_summary AS s
INNER JOIN asked USING (period_type, period_start)
LEFT JOIN unexplained AS u USING (period_type, period_start, unit_code)
LEFT JOIN losing AS l USING (period_type, period_start, unit_code)
WHERE s.unit_scheme = 'as_recorded'
    AND (s.own_total - s.portal_total > %(max_points_below)s OR u.unit_code IS NOT NULL)
ORDER BY s.period_start, s.period_type, s.unit_code;
