-- The portal's groups in force on a period's first day (mart.portal_group_map): the portal's
-- code, the project's group and the path of the call that publishes the group's items.
SELECT
    map.portal_group,
    map.group_code,
    map.endpoint_path
FROM mart.portal_group_map AS map
INNER JOIN mart.score_group AS score_group USING (group_code)
WHERE
    map.valid_from <= %(period_start)s
    AND (map.valid_to IS NULL OR map.valid_to > %(period_start)s)
ORDER BY score_group.group_no;
