-- A suite run's status beside its success (docs/quality-rules.md, "Severity: warnings do not fail
-- a batch"): 'passed' (nothing found), 'passed_with_warnings' (only warning rules found rows: their
-- records loaded and are in quality.warning), 'failed' (a critical rule found rows: quarantine, or
-- a broken invariant). success keeps meaning "no critical finding", so success = (status <> 'failed').
ALTER TABLE quality.validation_result ADD COLUMN status text;

-- Rows kept before this version counted a warning as a failure. A failed run whose failed
-- expectations are all warnings (meta.warning, or severity 'warning' or 'info', and not raised)
-- passed with warnings: its success, and the verdict in its stored results (what Data Docs
-- renders), become true. Any other run takes its status from success.
WITH failed_expectation AS (
    SELECT
        v.validation_id,
        bool_or(
            coalesce((r.item #>> '{expectation_config,meta,warning}')::boolean, FALSE)
            OR coalesce(r.item #>> '{expectation_config,severity}', 'critical') IN ('warning', 'info')
        ) AS some_warning,
        bool_or(
            (
                NOT coalesce((r.item #>> '{expectation_config,meta,warning}')::boolean, FALSE)
                AND coalesce(r.item #>> '{expectation_config,severity}', 'critical') NOT IN ('warning', 'info')
            )
            OR coalesce(
                jsonb_path_exists(r.item -> 'exception_info', 'lax $.**.raised_exception ? (@ == true)'), FALSE
            )
        ) AS some_critical
    FROM quality.validation_result AS v
    CROSS JOIN jsonb_array_elements(v.results -> 'results') AS r (item)
    WHERE NOT v.success
        AND jsonb_typeof(v.results -> 'results') = 'array'
        AND r.item ->> 'success' = 'false'
    GROUP BY v.validation_id
)

UPDATE quality.validation_result AS v
SET
    status = 'passed_with_warnings',
    success = TRUE,
    results = jsonb_set(v.results, '{success}', 'true')
FROM failed_expectation AS f
WHERE v.validation_id = f.validation_id AND f.some_warning AND NOT f.some_critical;

UPDATE quality.validation_result
SET status = CASE WHEN success THEN 'passed' ELSE 'failed' END
WHERE status IS NULL;

ALTER TABLE quality.validation_result
ALTER COLUMN status SET NOT NULL,
ADD CONSTRAINT validation_result_status_known
CHECK (status IN ('passed', 'passed_with_warnings', 'failed')),
ADD CONSTRAINT validation_result_success_is_no_failure
CHECK (success = (status <> 'failed'));
