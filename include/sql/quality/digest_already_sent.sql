-- The digests of a day already sent (tthc.digest skips them): unit and channel.
SELECT
    s.unit_code,
    s.channel
FROM quality.digest_sent AS s
WHERE s.digest_day = %(digest_day)s::date;
