-- The indicator catalogue with Vietnamese labels for BI tools (indicators.md, "Definitions").
INSERT INTO mart.indicator (indicator_code, kind, label_vi, label_en) VALUES
    ('RECEIVED',            'count',   'Số hồ sơ tiếp nhận',                                  'Dossiers received'),
    ('FINISHED',            'count',   'Số hồ sơ đã giải quyết',                              'Dossiers finished'),
    ('ON_TIME_FINISHED',    'ratio',   'Tỷ lệ hồ sơ trả trước và đúng hạn',                   'Finished on time or early'),
    ('LATE_FINISHED',       'count',   'Số hồ sơ giải quyết quá hạn',                         'Finished late'),
    ('LATE_NO_APOLOGY',     'count',   'Số hồ sơ quá hạn không có phiếu xin lỗi',             'Late without an apology slip'),
    ('NO_DUE_DATE',         'count',   'Số hồ sơ không có ngày hẹn trả',                      'Finished without a promised date'),
    ('ON_TIME_766',         'ratio',   'Chỉ số tiến độ giải quyết (766)',                     'Progress (766 item 2.1)'),
    ('AVG_WORKING_DAYS',    'average', 'Thời gian giải quyết trung bình (ngày làm việc)',     'Mean processing time, working days'),
    ('ONLINE_SHARE',        'ratio',   'Tỷ lệ hồ sơ trực tuyến',                              'Received online'),
    ('FULL_ONLINE_SHARE',   'ratio',   'Tỷ lệ hồ sơ trực tuyến toàn trình',                   'Received online, fully online procedures'),
    ('ONLINE_PAYMENT',      'ratio',   'Tỷ lệ thanh toán trực tuyến',                         'Paid online'),
    ('TTHC_WITH_FEE_DATA',  'ratio',   'Tỷ lệ TTHC có phí phát sinh hồ sơ có thu phí',        'Fee procedures with fee data'),
    ('TTHC_PAID_ONLINE',    'ratio',   'Tỷ lệ TTHC có thanh toán trực tuyến',                 'Procedures paid online'),
    ('RESULT_DIGITIZED',    'ratio',   'Tỷ lệ kết quả giải quyết TTHC được số hóa',           'Results digitized'),
    ('E_RESULT',            'ratio',   'Tỷ lệ cấp kết quả điện tử',                           'Electronic results'),
    ('COMPONENT_DIGITIZED', 'ratio',   'Tỷ lệ số hóa thành phần hồ sơ',                       'Components digitized'),
    ('REUSE',               'ratio',   'Tỷ lệ tái sử dụng dữ liệu số hóa',                    'Digitized data reused'),
    ('CITIZEN_STORE',       'ratio',   'Tỷ lệ sử dụng kho dữ liệu công dân',                  'Citizen data store used'),
    ('VNEID',               'ratio',   'Tỷ lệ tài khoản xác thực VNeID',                      'VNeID-verified accounts'),
    ('E_CERT_COPY',         'ratio',   'Tỷ lệ xã cung cấp chứng thực bản sao điện tử',        'Communes offering e-certified copies'),
    ('SYNC_RATE',           'ratio',   'Tỷ lệ đồng bộ hồ sơ lên Cổng DVCQG',                  'Synchronized to the national portal'),
    ('PAKN_ON_TIME',        'ratio',   'Tỷ lệ xử lý phản ánh kiến nghị đúng hạn',             'Feedback handled on time'),
    ('PAKN_SATISFACTION',   'ratio',   'Tỷ lệ hài lòng về xử lý phản ánh kiến nghị',          'Satisfied with feedback handling'),
    ('DOSSIER_SATISFACTION','ratio',   'Tỷ lệ hài lòng về giải quyết hồ sơ',                  'Satisfied with dossier handling')
ON CONFLICT (indicator_code) DO UPDATE
SET kind = EXCLUDED.kind, label_vi = EXCLUDED.label_vi, label_en = EXCLUDED.label_en;
