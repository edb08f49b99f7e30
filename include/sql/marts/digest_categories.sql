-- The watchlist categories as the daily digest counts them (tthc.digest), most urgent first.
SELECT
    c.category,
    c.urgency,
    c.label_vi
FROM mart.watchlist_category AS c
ORDER BY c.urgency ASC;
