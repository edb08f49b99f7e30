-- What the indicator refresh needs besides mart.indicator_value: configuration (e-certified-copy
-- procedures, the main successor of a split unit, how each indicator rolls up), the monthly leaf
-- aggregates an incremental refresh re-reads instead of the facts, and the indexes that keep a
-- one-month refresh off a full scan of core.fact_dossier.

-- How an indicator is aggregated over time and the unit tree: 'sum' = numerators and
-- denominators of months and descendants add up; 'per_period' = judged at the period's end or
-- counted distinct over the whole period (never summed from months).
CREATE TABLE IF NOT EXISTS mart.indicator_method (
    indicator_code text PRIMARY KEY REFERENCES mart.indicator,
    rollup         text NOT NULL CHECK (rollup IN ('sum', 'per_period')),
    note           text NOT NULL
);
INSERT INTO mart.indicator_method (indicator_code, rollup, note) VALUES
    ('RECEIVED', 'sum', 'count'), ('FINISHED', 'sum', 'count'),
    ('ON_TIME_FINISHED', 'sum', 'ratio of counts'), ('LATE_FINISHED', 'sum', 'count'),
    ('LATE_NO_APOLOGY', 'sum', 'count'), ('NO_DUE_DATE', 'sum', 'count'),
    ('ON_TIME_766', 'per_period', 'open dossiers are judged at the period''s end'),
    ('AVG_WORKING_DAYS', 'sum', 'numerator = total working days, denominator = dossiers measured'),
    ('ONLINE_SHARE', 'sum', 'ratio of counts'), ('FULL_ONLINE_SHARE', 'sum', 'ratio of counts'),
    ('ONLINE_PAYMENT', 'sum', 'ratio of counts'),
    ('TTHC_WITH_FEE_DATA', 'per_period', 'distinct procedures over the period and the units below'),
    ('TTHC_PAID_ONLINE', 'per_period', 'distinct procedures over the period and the units below'),
    ('RESULT_DIGITIZED', 'sum', 'ratio of counts'), ('E_RESULT', 'sum', 'ratio of counts'),
    ('COMPONENT_DIGITIZED', 'sum', 'ratio of counts'), ('REUSE', 'sum', 'ratio of counts'),
    ('CITIZEN_STORE', 'sum', 'ratio of counts'), ('VNEID', 'sum', 'ratio of counts'),
    ('E_CERT_COPY', 'per_period', 'distinct communes offering the service over the period'),
    ('SYNC_RATE', 'sum', 'ratio of counts'),
    ('PAKN_ON_TIME', 'per_period', 'open PAKN are judged at the period''s end'),
    ('PAKN_SATISFACTION', 'per_period', 'open PAKN are judged at the period''s end'),
    ('DOSSIER_SATISFACTION', 'sum', 'ratio of counts')
ON CONFLICT (indicator_code) DO UPDATE SET rollup = EXCLUDED.rollup, note = EXCLUDED.note;

-- Item 4.6: the electronic certified-copy procedures (chứng thực bản sao điện tử từ bản chính).
-- Configuration, not code: the national catalogue codes of that procedure family.
CREATE TABLE IF NOT EXISTS mart.e_cert_procedure (
    procedure_code text PRIMARY KEY,
    note           text NOT NULL
);
INSERT INTO mart.e_cert_procedure (procedure_code, note) VALUES
    ('2.007652', 'Chứng thực bản sao điện tử từ bản chính giấy tờ do cơ quan có thẩm quyền của Việt Nam cấp (cấp xã)'),
    ('2.003794', 'Chứng thực bản sao điện tử từ bản chính giấy tờ do cơ quan có thẩm quyền của Việt Nam cấp'),
    ('1.000387', 'Chứng thực bản sao điện tử từ bản chính giấy tờ do cơ quan có thẩm quyền của nước ngoài cấp')
ON CONFLICT (procedure_code) DO UPDATE SET note = EXCLUDED.note;

-- A dissolved unit with several successors is attributed, in the 'current' scheme, to ONE unit so
-- that counts never double. Rows here name the main successor explicitly (e.g. the commune that
-- took most of the old territory); without a row the rule of mart.unit_attribution applies.
CREATE TABLE IF NOT EXISTS mart.lineage_main (
    predecessor_code text PRIMARY KEY,
    successor_code   text NOT NULL,
    note             text
);

-- Every unit (as recorded) -> the unit of today's tree that carries its history.
--   itself                       the unit still exists;
--   configured_main              mart.lineage_main names the successor;
--   single_successor             exactly one successor in core.unit_lineage;
--   first_successor_by_code      a commune split into several communes: the lowest successor code;
--   common_ancestor              a unit whose successors are of another type (a district or a
--                                district office -> many communes): the lowest unit of today above
--                                all of them (the province), so its dossiers stay in the province
--                                total but are not pinned on one commune;
--   nearest_current_ancestor     no successor known: the nearest unit above it that still exists.
CREATE OR REPLACE VIEW mart.unit_attribution AS
WITH unit AS (
    SELECT unit_code, unit_type, parent_code,
           (valid_to IS NULL OR valid_to >= current_date) AS is_current
    FROM core.dim_unit
    WHERE row_valid_to IS NULL
),
successor AS (
    SELECT lineage.predecessor_code, lineage.successor_code, heir.unit_type AS successor_type
    FROM core.unit_lineage AS lineage
    JOIN unit AS heir ON heir.unit_code = lineage.successor_code AND heir.is_current
),
successor_summary AS (
    SELECT s.predecessor_code, count(*) AS successors, min(s.successor_code) AS first_successor,
           bool_and(s.successor_type = u.unit_type) AS same_type
    FROM successor AS s
    JOIN unit AS u ON u.unit_code = s.predecessor_code
    GROUP BY s.predecessor_code
),
common_ancestor AS (
    SELECT DISTINCT ON (s.predecessor_code) s.predecessor_code, closure.ancestor_code
    FROM successor AS s
    JOIN core.unit_closure AS closure ON closure.descendant_code = s.successor_code
    JOIN successor_summary AS summary USING (predecessor_code)
    GROUP BY s.predecessor_code, closure.ancestor_code, summary.successors
    HAVING count(*) = summary.successors
    ORDER BY s.predecessor_code, max(closure.depth)
),
nearest_current AS (
    SELECT DISTINCT ON (closure.descendant_code) closure.descendant_code, closure.ancestor_code
    FROM core.unit_closure AS closure
    JOIN unit AS above ON above.unit_code = closure.ancestor_code AND above.is_current
    ORDER BY closure.descendant_code, closure.depth
)
SELECT u.unit_code,
       CASE WHEN u.is_current                 THEN u.unit_code
            WHEN main.successor_code IS NOT NULL THEN main.successor_code
            WHEN summary.successors = 1       THEN summary.first_successor
            WHEN summary.same_type            THEN summary.first_successor
            WHEN common.ancestor_code IS NOT NULL THEN common.ancestor_code
            ELSE nearest.ancestor_code
       END AS current_unit_code,
       CASE WHEN u.is_current                 THEN 'itself'
            WHEN main.successor_code IS NOT NULL THEN 'configured_main'
            WHEN summary.successors = 1       THEN 'single_successor'
            WHEN summary.same_type            THEN 'first_successor_by_code'
            WHEN common.ancestor_code IS NOT NULL THEN 'common_ancestor'
            ELSE 'nearest_current_ancestor'
       END AS rule
FROM unit AS u
LEFT JOIN successor_summary AS summary ON summary.predecessor_code = u.unit_code
LEFT JOIN mart.lineage_main AS main
       ON main.predecessor_code = u.unit_code
      AND EXISTS (SELECT 1 FROM successor AS s
                  WHERE s.predecessor_code = main.predecessor_code AND s.successor_code = main.successor_code)
LEFT JOIN common_ancestor AS common ON common.predecessor_code = u.unit_code
LEFT JOIN nearest_current AS nearest ON nearest.descendant_code = u.unit_code;

-- Monthly leaf aggregates, per unit as recorded: the additive numerators/denominators (and the
-- finished-in-month part of ON_TIME_766, and per-commune e-certified-copy counts). A refresh
-- recomputes only the months it touches and builds quarters, halves and years from these rows.
CREATE TABLE IF NOT EXISTS mart.agg_unit_month (
    month          date    NOT NULL,
    unit_code      text    NOT NULL,
    indicator_code text    NOT NULL,
    numerator      numeric NOT NULL,
    denominator    numeric,
    PRIMARY KEY (month, unit_code, indicator_code)
);

-- Per unit, month and procedure, for the distinct-procedure items (3.5).
CREATE TABLE IF NOT EXISTS mart.agg_unit_month_procedure (
    month            date    NOT NULL,
    unit_code        text    NOT NULL,
    procedure_code   text    NOT NULL,
    fee_procedure    boolean NOT NULL,   -- the procedure has CoPhiLePhi
    with_fee_line    boolean NOT NULL,   -- a dossier received with a fee line Gia > 0
    paid_online      boolean NOT NULL,   -- a dossier received paid online (1 or 2)
    PRIMARY KEY (month, unit_code, procedure_code)
);

-- Months whose leaf rows exist, so a refresh of one month can complete its quarter/half/year.
CREATE TABLE IF NOT EXISTS mart.agg_month_log (
    month       date PRIMARY KEY,
    computed_at timestamptz NOT NULL DEFAULT now()
);

-- ON_TIME_766 judges the dossiers open at a period's end: 084_fact_open_dossiers.sql indexes them.

-- DOSSIER_SATISFACTION subtracts dossiers with a PAKN about them.
CREATE INDEX IF NOT EXISTS fact_feedback_dossier_idx ON core.fact_feedback (ma_ho_so) WHERE ma_ho_so IS NOT NULL;

-- Lever labels for the road to a better rank: what "one more" means for each scored indicator.
CREATE TABLE IF NOT EXISTS mart.improvement_lever (
    indicator_code text    PRIMARY KEY REFERENCES mart.indicator,
    lever_vi       text    NOT NULL,   -- read after a number: "12 hồ sơ thanh toán trực tuyến thêm"
    lever_en       text    NOT NULL,
    is_dossier     boolean NOT NULL    -- counted in dossiers (part of the cheapest combination)
);
INSERT INTO mart.improvement_lever (indicator_code, lever_vi, lever_en, is_dossier) VALUES
    ('ON_TIME_766',          'hồ sơ trễ hạn ít hơn',                          'fewer late dossiers', true),
    ('FULL_ONLINE_SHARE',    'hồ sơ nộp trực tuyến thêm (TTHC toàn trình)',   'more online dossiers (fully online procedures)', true),
    ('ONLINE_PAYMENT',       'hồ sơ thanh toán trực tuyến thêm',              'more dossiers paid online', true),
    ('TTHC_WITH_FEE_DATA',   'TTHC có phí có hồ sơ thu phí thêm',             'more fee procedures with fee data', false),
    ('TTHC_PAID_ONLINE',     'TTHC có thanh toán trực tuyến thêm',            'more procedures paid online', false),
    ('E_RESULT',             'hồ sơ có kết quả điện tử thêm',                 'more dossiers with an electronic result', true),
    ('COMPONENT_DIGITIZED',  'hồ sơ có thành phần số hóa thêm',               'more dossiers with digitized components', true),
    ('REUSE',                'hồ sơ tái sử dụng dữ liệu số hóa thêm',         'more dossiers reusing digitized data', true),
    ('CITIZEN_STORE',        'hồ sơ lấy từ kho dữ liệu công dân thêm',        'more dossiers using the citizen store', true),
    ('VNEID',                'hồ sơ xác thực VNeID thêm',                     'more VNeID-verified dossiers', true),
    ('E_CERT_COPY',          'xã cung cấp chứng thực bản sao điện tử thêm',   'more communes offering e-certified copies', false),
    ('SYNC_RATE',            'hồ sơ đồng bộ lên Cổng DVCQG thêm',             'more dossiers synchronized', true),
    ('PAKN_ON_TIME',         'PAKN xử lý đúng hạn thêm',                      'more PAKN handled on time', false),
    ('PAKN_SATISFACTION',    'PAKN được hài lòng thêm',                       'more satisfied PAKN', false),
    ('DOSSIER_SATISFACTION', 'hồ sơ không hài lòng ít hơn',                   'fewer unsatisfactory dossiers', true)
ON CONFLICT (indicator_code) DO UPDATE
SET lever_vi = EXCLUDED.lever_vi, lever_en = EXCLUDED.lever_en, is_dossier = EXCLUDED.is_dossier;

-- An incremental refresh finds the months that dossiers and PAKN changed in its range moved.
CREATE INDEX IF NOT EXISTS fact_dossier_source_updated_idx ON core.fact_dossier (source_updated_at);
CREATE INDEX IF NOT EXISTS fact_feedback_source_updated_idx ON core.fact_feedback (source_updated_at);
