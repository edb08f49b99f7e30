WITH supplement AS (
    SELECT
        s.ordinal,
        count(*) AS requests,
        coalesce(sum(s.answered_at - s.requested_at), interval '0') AS pause
    FROM staging.dossier_supplement AS s
    WHERE s.batch_id = {batch_id}
    GROUP BY s.ordinal
)

SELECT
    dossier.ordinal,
    dossier.dossier_code AS record_key,
    'finished late (NgayKetThucXuLy ' || (raw.payload ->> 'NgayKetThucXuLy')
    || ', NgayHenTra ' || (raw.payload ->> 'NgayHenTra')
    || ', ' || coalesce(supplement.requests, 0)
    || ' supplement requests) without an apology slip (CoPhieuXinLoi = 0)' AS detail
FROM {batch} AS dossier
INNER JOIN raw.record AS raw ON dossier.batch_id = raw.batch_id AND dossier.ordinal = raw.ordinal
LEFT JOIN supplement ON dossier.ordinal = supplement.ordinal
WHERE dossier.status IN (7, 8, 9, 10)
    AND dossier.finished_at IS NOT NULL
    AND dossier.due_at IS NOT NULL
    AND (
        coalesce(supplement.requests, 0) > 1
        OR dossier.finished_at - coalesce(supplement.pause, interval '0') > dossier.due_at
    )
    AND coalesce(dossier.has_apology, 0) = 0;
