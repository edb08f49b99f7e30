SELECT
    feedback.ordinal,
    feedback.feedback_code AS record_key,
    'HaiLong = ' || feedback.satisfied || ' is not 0, 1 or empty' AS detail
FROM {batch} AS feedback
WHERE feedback.satisfied NOT IN (0, 1);
