SELECT
    0 AS ordinal,
    fact.ma_ho_so AS record_key,
    'supplement_count ' || fact.supplement_count || ' but ' || supplement.n || ' supplement rows' AS detail
FROM {batch} AS fact
CROSS JOIN
    LATERAL (
        SELECT count(*) AS n FROM core.dossier_supplement AS s
        WHERE s.dossier_id = fact.dossier_id
    ) AS supplement
WHERE fact.supplement_count <> supplement.n;
