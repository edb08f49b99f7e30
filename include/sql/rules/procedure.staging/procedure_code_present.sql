SELECT
    procedure.ordinal,
    procedure.procedure_code AS record_key,
    'MaTTHC or TenTTHC is empty' AS detail
FROM {batch} AS procedure
WHERE procedure.procedure_code IS NULL OR procedure.procedure_name IS NULL;
