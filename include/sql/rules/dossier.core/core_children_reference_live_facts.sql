SELECT
    0 AS ordinal,
    tombstone.ma_ho_so AS record_key,
    'child row of a tombstoned dossier in ' || child.tbl AS detail
FROM core.dossier_tombstone AS tombstone
CROSS JOIN
    LATERAL (
        SELECT 'dossier_step' AS tbl FROM core.dossier_step AS c
        WHERE c.dossier_id = tombstone.dossier_id
        UNION ALL
        SELECT 'dossier_fee' FROM core.dossier_fee AS c
        WHERE c.dossier_id = tombstone.dossier_id
        UNION ALL
        SELECT 'dossier_document' FROM core.dossier_document AS c
        WHERE c.dossier_id = tombstone.dossier_id
        UNION ALL
        SELECT 'dossier_result' FROM core.dossier_result AS c
        WHERE c.dossier_id = tombstone.dossier_id
        UNION ALL
        SELECT 'dossier_supplement' FROM core.dossier_supplement AS c
        WHERE c.dossier_id = tombstone.dossier_id
    ) AS child
WHERE tombstone.batch_id = {batch_id};
