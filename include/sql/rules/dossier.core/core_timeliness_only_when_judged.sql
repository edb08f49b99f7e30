SELECT
    0 AS ordinal,
    fact.ma_ho_so AS record_key,
    'timeliness ' || coalesce(fact.timeliness, 'null')
    || ' for status ' || fact.status
    || ', finished ' || coalesce(fact.finished_at::text, 'null')
    || ', due ' || coalesce(fact.due_at::text, 'null') AS detail
FROM {batch} AS fact
WHERE (fact.timeliness IS NOT NULL)
    <> (fact.status IN (7, 8, 9, 10) AND fact.finished_at IS NOT NULL AND fact.due_at IS NOT NULL);
