SELECT
    dossier.ordinal,
    dossier.dossier_code AS record_key,
    'KenhThucHien = ' || coalesce(raw.payload ->> 'KenhThucHien', 'null') || ' is not 1, 2, 3 or empty' AS detail
FROM {batch} AS dossier
INNER JOIN raw.record AS raw ON dossier.batch_id = raw.batch_id AND dossier.ordinal = raw.ordinal
WHERE dossier.channel NOT IN (1, 2, 3) OR 'KenhThucHien' = ANY(dossier.unreadable_fields);
