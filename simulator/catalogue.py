"""Procedure catalogue (danh mục TTHC) in the style of the national database.

Names follow real procedures of the national catalogue; codes are national-style (``1.00xxxx``,
``2.00xxxx``) but not the real ones. The catalogue does not depend on the simulation seed, so
procedure codes (``E_CERT_COPY_PROCEDURE_CODES`` in particular) are stable configuration.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# Levels: T = province (TINH), H = district (HUYEN), X = commune (XA).
LEVEL_NAMES = {"T": "TINH", "H": "HUYEN", "X": "XA"}

# A leading "*" marks a licence-type name that also exists as "cấp lại" / "điều chỉnh".
# (field code, field name, time limit range in working days, share with a fee, share with a
#  paper result, [(name, levels), ...])
FIELDS: list[tuple[str, str, tuple[int, int], float, float, list[tuple[str, str]]]] = [
    (
        "HT",
        "Hộ tịch",
        (1, 5),
        0.5,
        1.0,
        [
            ("Đăng ký khai sinh", "X"),
            ("Đăng ký kết hôn", "X"),
            ("Đăng ký khai tử", "X"),
            ("Đăng ký nhận cha, mẹ, con", "X"),
            ("Đăng ký giám hộ", "X"),
            ("Đăng ký chấm dứt giám hộ", "X"),
            ("Đăng ký khai sinh lưu động", "X"),
            ("Đăng ký kết hôn lưu động", "X"),
            ("Đăng ký khai tử lưu động", "X"),
            ("Cấp giấy xác nhận tình trạng hôn nhân", "X"),
            ("Thay đổi, cải chính, bổ sung thông tin hộ tịch", "XH"),
            ("Cấp bản sao trích lục hộ tịch", "XH"),
            ("Đăng ký lại khai sinh", "X"),
            ("Đăng ký lại kết hôn", "X"),
            ("Đăng ký lại khai tử", "X"),
            (
                "Liên thông thủ tục hành chính đăng ký khai sinh, đăng ký thường trú, cấp thẻ bảo hiểm y tế cho trẻ em dưới 6 tuổi",
                "X",
            ),
            (
                "Liên thông thủ tục hành chính đăng ký khai tử, xóa đăng ký thường trú, hưởng chế độ tử tuất",
                "X",
            ),
            ("Đăng ký khai sinh có yếu tố nước ngoài", "H"),
            ("Đăng ký kết hôn có yếu tố nước ngoài", "H"),
            ("Đăng ký khai tử có yếu tố nước ngoài", "H"),
            ("Ghi vào Sổ hộ tịch việc ly hôn đã được giải quyết ở nước ngoài", "H"),
            ("Xác định lại dân tộc", "H"),
        ],
    ),
    (
        "CT",
        "Chứng thực",
        (0, 2),
        1.0,
        1.0,
        [
            (
                "Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan, tổ chức có thẩm quyền của Việt Nam cấp hoặc chứng nhận",
                "XH",
            ),
            (
                "Chứng thực bản sao điện tử từ bản chính giấy tờ, văn bản do cơ quan, tổ chức có thẩm quyền của Việt Nam cấp hoặc chứng nhận",
                "XH",
            ),
            (
                "Chứng thực bản sao điện tử từ bản chính giấy tờ, văn bản do cơ quan, tổ chức có thẩm quyền của nước ngoài cấp hoặc chứng nhận",
                "H",
            ),
            ("Chứng thực chữ ký trong các giấy tờ, văn bản", "XH"),
            (
                "Chứng thực hợp đồng, giao dịch liên quan đến tài sản là động sản, quyền sử dụng đất và nhà ở",
                "X",
            ),
            ("Chứng thực di chúc", "X"),
            ("Chứng thực văn bản từ chối nhận di sản", "X"),
            ("Chứng thực văn bản thỏa thuận phân chia di sản", "X"),
            ("Chứng thực việc sửa đổi, bổ sung, hủy bỏ hợp đồng, giao dịch", "X"),
            ("Cấp bản sao có chứng thực từ bản chính hợp đồng, giao dịch đã được chứng thực", "XH"),
            ("Chứng thực chữ ký người dịch", "H"),
            ("Chứng thực bản sao từ bản chính giấy tờ do cơ quan nước ngoài cấp", "H"),
        ],
    ),
    (
        "DD",
        "Đất đai",
        (10, 30),
        0.9,
        1.0,
        [
            (
                "Đăng ký, cấp Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất lần đầu",
                "H",
            ),
            ("Đăng ký biến động quyền sử dụng đất do chuyển nhượng, tặng cho, thừa kế", "H"),
            ("Cấp đổi Giấy chứng nhận quyền sử dụng đất", "H"),
            ("Cấp lại Giấy chứng nhận quyền sử dụng đất do bị mất", "H"),
            ("Tách thửa hoặc hợp thửa đất", "H"),
            ("Chuyển mục đích sử dụng đất phải được phép", "HT"),
            ("Đăng ký thế chấp quyền sử dụng đất, tài sản gắn liền với đất", "HT"),
            ("Xóa đăng ký thế chấp", "HT"),
            ("Đính chính Giấy chứng nhận đã cấp", "H"),
            ("Gia hạn sử dụng đất nông nghiệp", "H"),
            ("Cung cấp thông tin, dữ liệu đất đai", "HT"),
            ("Giao đất, cho thuê đất không thông qua đấu giá", "HT"),
            ("Thu hồi đất do người sử dụng đất tự nguyện trả lại", "H"),
            ("Hòa giải tranh chấp đất đai", "X"),
            ("Xác nhận nguồn gốc, thời điểm sử dụng đất", "X"),
            ("Giải quyết tranh chấp đất đai", "HT"),
        ],
    ),
    (
        "MT",
        "Môi trường",
        (5, 20),
        0.4,
        1.0,
        [
            ("*Giấy phép môi trường", "HT"),
            ("Đăng ký môi trường", "XH"),
            ("Thẩm định báo cáo đánh giá tác động môi trường", "T"),
            ("Tham vấn trong đánh giá tác động môi trường", "X"),
        ],
    ),
    (
        "TNN",
        "Tài nguyên nước",
        (10, 30),
        0.8,
        1.0,
        [
            ("*Giấy phép khai thác, sử dụng nước mặt", "T"),
            ("*Giấy phép khai thác nước dưới đất", "T"),
            ("*Giấy phép xả nước thải vào nguồn nước", "T"),
            ("Đăng ký khai thác nước dưới đất", "H"),
        ],
    ),
    (
        "KS",
        "Khoáng sản",
        (15, 45),
        0.9,
        1.0,
        [
            ("*Giấy phép thăm dò khoáng sản", "T"),
            ("*Giấy phép khai thác khoáng sản", "T"),
            ("Đóng cửa mỏ khoáng sản", "T"),
        ],
    ),
    (
        "HKD",
        "Thành lập và hoạt động của hộ kinh doanh",
        (3, 5),
        0.9,
        1.0,
        [
            ("Đăng ký thành lập hộ kinh doanh", "H"),
            ("Đăng ký thay đổi nội dung đăng ký hộ kinh doanh", "H"),
            ("Tạm ngừng hoạt động hộ kinh doanh", "H"),
            ("Chấm dứt hoạt động hộ kinh doanh", "H"),
            ("Cấp lại Giấy chứng nhận đăng ký hộ kinh doanh", "H"),
        ],
    ),
    (
        "DN",
        "Thành lập và hoạt động doanh nghiệp",
        (3, 5),
        0.8,
        1.0,
        [
            ("Đăng ký thành lập công ty trách nhiệm hữu hạn một thành viên", "T"),
            ("Đăng ký thành lập công ty trách nhiệm hữu hạn hai thành viên trở lên", "T"),
            ("Đăng ký thành lập công ty cổ phần", "T"),
            ("Đăng ký thành lập doanh nghiệp tư nhân", "T"),
            ("Đăng ký thay đổi người đại diện theo pháp luật", "T"),
            ("Đăng ký thay đổi vốn điều lệ", "T"),
            ("Đăng ký thay đổi địa chỉ trụ sở chính", "T"),
            ("Thông báo tạm ngừng kinh doanh", "T"),
            ("Giải thể doanh nghiệp", "T"),
            ("Đăng ký hoạt động chi nhánh, văn phòng đại diện", "T"),
        ],
    ),
    (
        "DT",
        "Đầu tư",
        (10, 35),
        0.1,
        1.0,
        [
            ("Chấp thuận chủ trương đầu tư", "T"),
            ("*Giấy chứng nhận đăng ký đầu tư", "T"),
            ("Điều chỉnh dự án đầu tư", "T"),
            ("Chấm dứt hoạt động dự án đầu tư", "T"),
        ],
    ),
    (
        "XD",
        "Hoạt động xây dựng",
        (7, 20),
        0.7,
        1.0,
        [
            ("*Giấy phép xây dựng nhà ở riêng lẻ", "H"),
            ("*Giấy phép xây dựng công trình", "HT"),
            ("Gia hạn giấy phép xây dựng", "HT"),
            ("Thẩm định báo cáo kinh tế - kỹ thuật đầu tư xây dựng", "HT"),
            ("Thẩm định thiết kế xây dựng triển khai sau thiết kế cơ sở", "T"),
            ("*Chứng chỉ hành nghề hoạt động xây dựng", "T"),
            ("*Chứng chỉ năng lực hoạt động xây dựng", "T"),
            ("Kiểm tra công tác nghiệm thu hoàn thành công trình", "T"),
        ],
    ),
    (
        "QH",
        "Quy hoạch xây dựng, kiến trúc",
        (10, 25),
        0.3,
        1.0,
        [
            ("Cung cấp thông tin về quy hoạch xây dựng", "HT"),
            ("*Giấy phép quy hoạch", "T"),
            ("Thẩm định nhiệm vụ, đồ án quy hoạch chi tiết", "HT"),
        ],
    ),
    (
        "GT",
        "Đường bộ",
        (3, 10),
        0.9,
        1.0,
        [
            ("Cấp đổi giấy phép lái xe", "T"),
            ("Cấp lại giấy phép lái xe", "T"),
            ("Cấp giấy phép lái xe quốc tế", "T"),
            ("*Giấy phép kinh doanh vận tải bằng xe ô tô", "T"),
            ("Cấp phù hiệu xe ô tô kinh doanh vận tải", "T"),
            ("*Giấy phép thi công công trình trên đường bộ đang khai thác", "HT"),
            ("Chấp thuận xây dựng cùng thời điểm với cấp giấy phép thi công", "T"),
            ("Đăng ký phương tiện thủy nội địa lần đầu", "HT"),
        ],
    ),
    (
        "LD",
        "Lao động, tiền lương",
        (3, 15),
        0.2,
        1.0,
        [
            ("*Giấy phép lao động cho người lao động nước ngoài", "T"),
            ("Xác nhận người lao động nước ngoài không thuộc diện cấp giấy phép lao động", "T"),
            ("Đăng ký nội quy lao động", "HT"),
            ("Gửi thỏa ước lao động tập thể", "HT"),
            ("Giải quyết hưởng trợ cấp thất nghiệp", "T"),
            ("Hỗ trợ người lao động ngừng việc", "H"),
        ],
    ),
    (
        "NCC",
        "Người có công",
        (5, 20),
        0.0,
        1.0,
        [
            ("Giải quyết chế độ trợ cấp thờ cúng liệt sĩ", "XH"),
            ("Giải quyết chế độ mai táng phí đối với cựu chiến binh", "XH"),
            ("Giải quyết chế độ ưu đãi đối với thân nhân liệt sĩ", "XT"),
            ("Cấp giấy xác nhận thân nhân của người có công", "XH"),
            ("Di chuyển hồ sơ người có công với cách mạng", "T"),
            ("Hưởng trợ cấp khi người có công đang hưởng trợ cấp ưu đãi từ trần", "XH"),
            ("Giám định lại thương tật do vết thương cũ tái phát", "T"),
            ("Cấp bổ sung hoặc cấp lại giấy chứng nhận người có công", "T"),
        ],
    ),
    (
        "BTXH",
        "Bảo trợ xã hội",
        (5, 20),
        0.0,
        1.0,
        [
            ("Trợ giúp xã hội thường xuyên tại cộng đồng", "XH"),
            ("Trợ giúp xã hội khẩn cấp về hỗ trợ làm nhà ở", "XH"),
            ("Hỗ trợ chi phí mai táng cho đối tượng bảo trợ xã hội", "XH"),
            ("Xác định, xác định lại mức độ khuyết tật và cấp Giấy xác nhận khuyết tật", "X"),
            ("Đổi, cấp lại Giấy xác nhận khuyết tật", "X"),
            ("Công nhận hộ nghèo, hộ cận nghèo phát sinh trong năm", "X"),
            ("Công nhận hộ thoát nghèo, thoát cận nghèo trong năm", "X"),
            ("Đăng ký thành lập cơ sở trợ giúp xã hội ngoài công lập", "HT"),
            (
                "Tiếp nhận đối tượng bảo trợ xã hội có hoàn cảnh đặc biệt khó khăn vào cơ sở trợ giúp xã hội",
                "HT",
            ),
        ],
    ),
    (
        "TE",
        "Trẻ em",
        (5, 15),
        0.0,
        0.5,
        [
            ("Áp dụng các biện pháp can thiệp khẩn cấp hoặc tạm thời cách ly trẻ em", "X"),
            ("Đăng ký nhận chăm sóc thay thế cho trẻ em", "X"),
            ("Phê duyệt kế hoạch hỗ trợ, can thiệp đối với trẻ em bị xâm hại", "X"),
        ],
    ),
    (
        "GD",
        "Giáo dục và Đào tạo",
        (5, 20),
        0.1,
        1.0,
        [
            ("Chuyển trường đối với học sinh trung học cơ sở", "H"),
            ("Chuyển trường đối với học sinh trung học phổ thông", "T"),
            ("Thành lập trường mầm non, trường tiểu học, trường trung học cơ sở", "H"),
            ("Cho phép trường mầm non hoạt động giáo dục", "H"),
            ("Thành lập nhóm trẻ, lớp mẫu giáo độc lập", "X"),
            ("Cho phép nhóm trẻ, lớp mẫu giáo độc lập hoạt động giáo dục", "X"),
            ("Xét, duyệt chính sách hỗ trợ đối với học sinh bán trú", "H"),
            ("Cấp bản sao văn bằng, chứng chỉ từ sổ gốc", "HT"),
            ("Chỉnh sửa nội dung văn bằng, chứng chỉ", "HT"),
            ("Công nhận văn bằng tốt nghiệp do cơ sở giáo dục nước ngoài cấp", "T"),
            ("Xét tuyển sinh vào trường phổ thông dân tộc nội trú", "T"),
            ("Miễn, giảm học phí và hỗ trợ chi phí học tập", "XH"),
        ],
    ),
    (
        "YT",
        "Y tế",
        (5, 30),
        0.8,
        1.0,
        [
            ("*Giấy phép hoạt động đối với phòng khám đa khoa", "T"),
            ("*Giấy phép hoạt động đối với phòng khám chuyên khoa", "T"),
            ("*Chứng chỉ hành nghề khám bệnh, chữa bệnh", "T"),
            ("*Giấy chứng nhận đủ điều kiện kinh doanh dược", "T"),
            ("*Chứng chỉ hành nghề dược", "T"),
            ("Cấp giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm", "HT"),
            ("Tiếp nhận bản tự công bố sản phẩm", "HT"),
            ("Công bố cơ sở đủ điều kiện tiêm chủng", "T"),
        ],
    ),
    (
        "VH",
        "Văn hóa, Thể thao và Du lịch",
        (5, 15),
        0.5,
        1.0,
        [
            ("*Giấy phép kinh doanh dịch vụ karaoke", "HT"),
            ("Thông báo tổ chức lễ hội cấp xã", "X"),
            ("Công nhận lần đầu Gia đình văn hóa", "X"),
            ("Xét tặng danh hiệu Khu dân cư văn hóa", "X"),
            ("Công nhận điểm du lịch", "T"),
            ("Công nhận cơ sở lưu trú du lịch hạng 1 sao, 2 sao, 3 sao", "T"),
            ("*Giấy phép kinh doanh dịch vụ lữ hành nội địa", "T"),
            ("*Thẻ hướng dẫn viên du lịch", "T"),
            ("Đăng ký tổ chức hoạt động thể dục, thể thao quần chúng", "H"),
        ],
    ),
    (
        "TTTT",
        "Thông tin và Truyền thông",
        (5, 15),
        0.4,
        1.0,
        [
            ("*Giấy phép hoạt động in", "T"),
            ("Đăng ký hoạt động cơ sở in", "T"),
            ("*Giấy phép xuất bản bản tin", "T"),
            (
                "Cấp giấy chứng nhận đủ điều kiện hoạt động điểm cung cấp dịch vụ trò chơi điện tử công cộng",
                "H",
            ),
            ("*Giấy phép thiết lập trang thông tin điện tử tổng hợp", "T"),
        ],
    ),
    (
        "NN",
        "Nông nghiệp và Phát triển nông thôn",
        (5, 20),
        0.3,
        1.0,
        [
            ("Phê duyệt kế hoạch khuyến nông địa phương", "H"),
            ("Hỗ trợ khôi phục sản xuất nông nghiệp vùng bị thiệt hại do thiên tai", "XH"),
            ("*Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm nông lâm thủy sản", "HT"),
            ("Xác nhận bảng kê lâm sản", "XH"),
            ("Phê duyệt phương án khai thác thực vật rừng", "HT"),
            ("Công nhận làng nghề, nghề truyền thống", "T"),
            ("*Giấy chứng nhận đủ điều kiện buôn bán thuốc bảo vệ thực vật", "T"),
            ("*Giấy chứng nhận đủ điều kiện buôn bán phân bón", "T"),
            ("Kiểm dịch động vật vận chuyển ra khỏi địa bàn cấp tỉnh", "T"),
            ("Thành lập và công nhận tổ hợp tác", "X"),
        ],
    ),
    (
        "CTH",
        "Công Thương",
        (5, 15),
        0.8,
        1.0,
        [
            ("*Giấy phép bán lẻ sản phẩm rượu", "HT"),
            ("*Giấy phép bán lẻ sản phẩm thuốc lá", "HT"),
            ("*Giấy chứng nhận đủ điều kiện cửa hàng bán lẻ xăng dầu", "T"),
            ("*Giấy chứng nhận đủ điều kiện thương nhân kinh doanh khí", "T"),
            ("Đăng ký tổ chức hội chợ, triển lãm thương mại", "T"),
            ("Cấp giấy phép sử dụng vật liệu nổ công nghiệp", "T"),
            ("Đăng ký hoạt động khuyến mại", "T"),
        ],
    ),
    (
        "NV",
        "Nội vụ",
        (5, 20),
        0.0,
        0.6,
        [
            ("Thành lập hội", "HT"),
            ("Phê duyệt điều lệ hội", "HT"),
            ("Công nhận ban vận động thành lập hội", "HT"),
            ("Xét tặng danh hiệu Lao động tiên tiến", "XH"),
            ("Tặng Giấy khen của Chủ tịch Ủy ban nhân dân cấp huyện", "H"),
            ("Tặng Bằng khen của Chủ tịch Ủy ban nhân dân cấp tỉnh", "T"),
            ("Đăng ký hoạt động tín ngưỡng", "X"),
            ("Đăng ký sinh hoạt tôn giáo tập trung", "X"),
            ("Thông báo tổ chức quyên góp", "XH"),
            ("Thi tuyển công chức", "T"),
            ("Xét chuyển công chức cấp xã thành công chức cấp huyện trở lên", "T"),
        ],
    ),
    (
        "TC",
        "Tài chính",
        (5, 15),
        0.1,
        1.0,
        [
            ("Cấp mã số đơn vị có quan hệ với ngân sách", "T"),
            ("Thẩm định quyết toán dự án hoàn thành", "HT"),
            ("Xác định giá đất cụ thể", "T"),
            ("Mua hóa đơn lẻ", "T"),
        ],
    ),
    (
        "KHCN",
        "Khoa học và Công nghệ",
        (5, 20),
        0.5,
        1.0,
        [
            ("*Giấy chứng nhận doanh nghiệp khoa học và công nghệ", "T"),
            ("Đăng ký kết quả thực hiện nhiệm vụ khoa học và công nghệ", "T"),
            ("*Giấy phép tiến hành công việc bức xạ", "T"),
            ("Đăng ký công bố hợp chuẩn", "T"),
        ],
    ),
    (
        "TP",
        "Tư pháp",
        (5, 20),
        0.8,
        1.0,
        [
            ("Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam", "T"),
            ("Cấp Phiếu lý lịch tư pháp cho người nước ngoài", "T"),
            ("*Thẻ công chứng viên", "T"),
            ("Đăng ký hoạt động văn phòng công chứng", "T"),
            ("Thực hiện hòa giải ở cơ sở: công nhận hòa giải viên", "X"),
            ("Thôi làm hòa giải viên", "X"),
            ("Công nhận tuyên truyền viên pháp luật", "X"),
            ("Trợ giúp pháp lý", "T"),
            ("Giải quyết yêu cầu bồi thường tại cơ quan trực tiếp quản lý người thi hành công vụ", "XHT"),
            ("Cho thôi quốc tịch Việt Nam", "T"),
            ("Nhập quốc tịch Việt Nam", "T"),
        ],
    ),
    (
        "TTR",
        "Giải quyết khiếu nại, tố cáo",
        (10, 45),
        0.0,
        0.3,
        [
            ("Giải quyết khiếu nại lần đầu", "XHT"),
            ("Giải quyết khiếu nại lần hai", "HT"),
            ("Giải quyết tố cáo", "XHT"),
            ("Tiếp công dân", "XHT"),
            ("Xử lý đơn", "XHT"),
        ],
    ),
    (
        "DTTG",
        "Công tác dân tộc",
        (5, 15),
        0.0,
        1.0,
        [
            ("Công nhận người có uy tín trong đồng bào dân tộc thiểu số", "XH"),
            ("Đưa ra khỏi danh sách người có uy tín", "XH"),
        ],
    ),
]

# Which provincial department owns each field (index into DEPARTMENTS of units.py) and which
# district office handles it (index into DISTRICT_OFFICES, None = the district committee itself).
FIELD_DEPARTMENT = {
    "HT": 0,
    "CT": 0,
    "TP": 0,
    "DN": 1,
    "DT": 1,
    "DD": 2,
    "MT": 2,
    "TNN": 2,
    "KS": 2,
    "XD": 3,
    "QH": 3,
    "GT": 4,
    "YT": 5,
    "GD": 6,
    "LD": 7,
    "NCC": 7,
    "BTXH": 7,
    "TE": 7,
    "CTH": 8,
    "NN": 9,
    "NV": 10,
    "DTTG": 10,
    "VH": 11,
    "TTTT": 12,
    "TC": 13,
    "KHCN": 14,
    "TTR": 10,
    "HKD": 1,
}
FIELD_DISTRICT_OFFICE = {
    "HT": 0,
    "CT": 0,
    "TP": 0,
    "DD": 4,
    "MT": 1,
    "TNN": 1,
    "XD": 2,
    "QH": 2,
    "GT": 2,
    "HKD": 2,
    "CTH": 2,
    "NN": 2,
    "LD": 3,
    "NCC": 3,
    "BTXH": 3,
    "TE": 3,
}

E_CERT_COPY_NAME = "Chứng thực bản sao điện tử từ bản chính"
# Procedures whose dossiers are numerous in real one-stop shops: they get a popularity boost.
POPULAR = (
    "Đăng ký khai sinh",
    "Chứng thực bản sao",
    "Chứng thực chữ ký",
    "Đăng ký kết hôn",
    "Đăng ký khai tử",
    "Cấp giấy xác nhận tình trạng hôn nhân",
    "Đăng ký biến động",
    "Chứng thực hợp đồng",
    "Cấp Phiếu lý lịch tư pháp",
    "Đăng ký thành lập hộ kinh doanh",
)
CATALOGUE_UPDATED = "20220915083000"


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    field_code: str
    field_name: str
    levels: tuple[str, ...]  # subset of T, H, X
    time_limit: float
    time_unit: str
    has_fee: bool
    paper_result: bool
    online_level: str | None
    popularity: float

    def as_record(self) -> dict:
        return {
            "MaTTHC": self.code,
            "TenTTHC": self.name,
            "MaLinhVuc": self.field_code,
            "TenLinhVuc": self.field_name,
            "CapThucHien": [LEVEL_NAMES[level] for level in self.levels],
            "ThoiHanGiaiQuyet": self.time_limit,
            "DonViTinh": self.time_unit,
            "CoPhiLePhi": self.has_fee,
            "CoKetQuaGiay": self.paper_result,
            "MucDoDVC": self.online_level,
            "NgayCapNhat": CATALOGUE_UPDATED,
        }


def _names(name: str) -> list[str]:
    if not name.startswith("*"):
        return [name]
    base = name[1:]
    return [f"Cấp {base}", f"Cấp lại {base}", f"Điều chỉnh, bổ sung {base}"]


def build_catalogue() -> list[Procedure]:
    """About 400 procedures: one per (name, level), as the national catalogue lists them."""
    rng = random.Random(20220915)  # fixed: codes are configuration, not simulation output
    used_codes: set[str] = set()
    procedures = []
    for field_code, field_name, (low, high), fee_share, paper_share, names in FIELDS:
        for raw_name, levels in names:
            for name in _names(raw_name):
                for level in levels:
                    code = ""
                    while not code or code in used_codes:
                        code = f"{rng.choice('1122')}.00{rng.randrange(10000):04d}"
                    used_codes.add(code)
                    unit = "Ngày làm việc" if rng.random() < 0.9 else rng.choice(["Ngày", "Giờ"])
                    limit = float(rng.randint(max(low, 1), max(high, 1)))
                    if unit == "Giờ":
                        limit = float(rng.choice([4, 8, 16, 24]))
                    popularity = rng.paretovariate(1.3)
                    if any(name.startswith(p) for p in POPULAR):
                        popularity *= 40
                    procedures.append(
                        Procedure(
                            code=code,
                            name=name,
                            field_code=field_code,
                            field_name=field_name,
                            levels=(level,),
                            time_limit=limit,
                            time_unit=unit,
                            has_fee=rng.random() < fee_share,
                            paper_result=rng.random() < paper_share,
                            online_level=rng.choice(["TOAN_TRINH", "TOAN_TRINH", "MOT_PHAN", None]),
                            popularity=popularity,
                        )
                    )
    return procedures


CATALOGUE: list[Procedure] = build_catalogue()
E_CERT_COPY_PROCEDURE_CODES: frozenset[str] = frozenset(
    p.code for p in CATALOGUE if p.name.startswith(E_CERT_COPY_NAME)
)
