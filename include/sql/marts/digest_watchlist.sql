-- The daily digest's watchlist (tthc.digest): every dossier of mart.watchlist_at at the digest's
-- instant, with its category's urgency and label, in the order the digests list them: unit, most
-- urgent category first, least time left first.
SELECT
    w.unit_code,
    w.unit_name,
    w.category,
    c.urgency,
    c.label_vi AS category_label,
    w.ma_ho_so,
    w.procedure_code,
    w.procedure_name,
    w.office,
    w.received_at,
    w.due_at,
    w.hours_left,
    w.applicant_token
FROM mart.watchlist_at(%(at)s::timestamptz) AS w
INNER JOIN mart.watchlist_category AS c USING (category)
ORDER BY w.unit_code ASC, c.urgency ASC, w.hours_left ASC NULLS FIRST, w.ma_ho_so ASC;
