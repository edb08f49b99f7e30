-- Who gets each unit's daily digest (tthc.digest): the active addresses of quality.unit_contact.
SELECT
    c.unit_code,
    array_agg(c.email ORDER BY c.email) AS emails
FROM quality.unit_contact AS c
WHERE c.active
GROUP BY c.unit_code;
