SELECT
    feedback.ordinal,
    feedback.feedback_code AS record_key,
    'MaPAKN is empty' AS detail
FROM {batch} AS feedback
WHERE feedback.feedback_code IS NULL;
