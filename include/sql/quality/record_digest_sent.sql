-- One digest sent (tthc.digest), recorded right after the send succeeded. A row already there (a
-- concurrent run of the same day) is kept as it is.
INSERT INTO quality.digest_sent (digest_day, unit_code, channel, recipients, entries)
VALUES (%(digest_day)s::date, %(unit_code)s, %(channel)s, %(recipients)s::text[], %(entries)s)
ON CONFLICT (digest_day, unit_code, channel) DO NOTHING;
