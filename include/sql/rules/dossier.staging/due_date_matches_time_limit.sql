WITH working AS (
    SELECT
        day,
        count(*) FILTER (WHERE is_working_day) OVER (ORDER BY day) AS n
    FROM core.dim_date
),

judged AS (
    SELECT
        dossier.batch_id,
        dossier.ordinal,
        dossier.dossier_code,
        procedure.procedure_code,
        procedure.time_limit,
        procedure.time_limit_unit,
        due.n AS due_n,
        CASE procedure.time_limit_unit
            WHEN 'Ngày' THEN calendar_end.n
            WHEN 'Giờ' THEN received.n + ceil(procedure.time_limit / 8.0)::int
            ELSE received.n + ceil(procedure.time_limit)::int
        END AS expected_n
    FROM {batch} AS dossier
    INNER JOIN core.dim_procedure AS procedure
        ON
            procedure.row_valid_to IS NULL AND dossier.procedure_code = procedure.procedure_code
            AND procedure.source_id = (
                SELECT b.source_id FROM raw.batch AS b
                WHERE b.batch_id = {batch_id}
            )
    INNER JOIN working AS received ON received.day = (dossier.received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
    INNER JOIN working AS due ON due.day = (dossier.due_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
    LEFT JOIN working AS calendar_end
        ON calendar_end.day
            = (dossier.received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date + ceil(procedure.time_limit)::int
    WHERE procedure.time_limit > 0
)

SELECT
    judged.ordinal,
    judged.dossier_code AS record_key,
    (
        SELECT
            'NgayHenTra ' || (raw.payload ->> 'NgayHenTra')
            || ' is ' || (judged.due_n - judged.expected_n)
            || ' working days from NgayTiepNhan ' || (raw.payload ->> 'NgayTiepNhan')
            || ' + ' || judged.time_limit || ' ' || judged.time_limit_unit
            || ' (MaTTHC ' || judged.procedure_code || ')'
        FROM raw.record AS raw
        WHERE raw.batch_id = judged.batch_id AND raw.ordinal = judged.ordinal
    ) AS detail
FROM judged
WHERE abs(judged.due_n - judged.expected_n) > 1;
