SELECT
    feedback.ordinal,
    feedback.feedback_code AS record_key,
    'unreadable or missing date: '
    || coalesce(array_to_string(feedback.unreadable_fields, ', '), 'NgayCapNhat') AS detail
FROM {batch} AS feedback
WHERE cardinality(feedback.unreadable_fields) > 0 OR feedback.source_updated_at IS NULL;
