-- Merge one batch of citizen feedback (PAKN) of source %(source_id)s: the newest version of each
-- MaPAKN wins (PAKN codes, and the dossier codes they name, are the source's own).
WITH merged AS (
    INSERT INTO core.fact_feedback (
        source_id, ma_pakn, unit_code, ma_ho_so, kind, received_at, deadline_at, handled_at,
        satisfied, source_updated_at, batch_id
    )
    SELECT DISTINCT ON (feedback_code)
        %(source_id)s,
        feedback_code,
        unit_code,
        dossier_code,
        kind,
        received_at,
        deadline_at,
        handled_at,
        satisfied,
        source_updated_at,
        batch_id
    FROM staging.feedback AS f
    WHERE batch_id = %(batch_id)s
        AND NOT EXISTS (
            SELECT 1 FROM quality.quarantine AS q
            WHERE q.batch_id = f.batch_id AND q.ordinal = f.ordinal AND q.resolved_at IS NULL
        )
    ORDER BY feedback_code ASC, source_updated_at DESC, ordinal DESC
    ON CONFLICT (source_id, ma_pakn) DO UPDATE
        SET unit_code = EXCLUDED.unit_code, ma_ho_so = EXCLUDED.ma_ho_so, kind = EXCLUDED.kind,
            received_at = EXCLUDED.received_at, deadline_at = EXCLUDED.deadline_at, handled_at = EXCLUDED.handled_at,
            satisfied = EXCLUDED.satisfied, source_updated_at = EXCLUDED.source_updated_at, batch_id = EXCLUDED.batch_id
        WHERE EXCLUDED.source_updated_at > core.fact_feedback.source_updated_at
    RETURNING 1
)

SELECT count(*) FROM merged;
