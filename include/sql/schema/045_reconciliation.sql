-- Per unit and day: what the source says it holds against what the warehouse holds.
CREATE TABLE IF NOT EXISTS quality.reconciliation (
    checked_at        timestamptz NOT NULL,
    unit_code         text        NOT NULL,
    day               date        NOT NULL,
    source_received   integer     NOT NULL,
    warehouse_received integer    NOT NULL,
    source_finished   integer     NOT NULL,
    warehouse_finished integer    NOT NULL,
    within_tolerance  boolean     NOT NULL,
    PRIMARY KEY (checked_at, unit_code, day)
);
