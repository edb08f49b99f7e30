-- Quality-gate speed (issue 3).
-- well_shaped: true when the extraction, which holds every dossier record parsed, found it plainly
-- well shaped (tthc.staging.well_shaped); the record_shape rules of expectations/dossier.raw.json
-- then skip its payload, whose jsonpath checks were the costliest rule queries (~1 s of a
-- 60k-dossier batch). NULL (rows landed before this column, other entities, records written by a
-- retry or a test) and false mean "not vouched for": the rules judge the payload as they always did.
ALTER TABLE raw.record ADD COLUMN IF NOT EXISTS well_shaped boolean;
