"""Realistic Vietnamese personal data for applicants and officials (all invented)."""

from __future__ import annotations

import random
import unicodedata

SURNAMES = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Vũ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Lò",
    "Tòng",
    "Lường",
    "Vàng",
    "Giàng",
    "Sùng",
    "Lý",
    "Tao",
    "Chảo",
    "Pờ",
    "Lồ",
    "Hà",
    "Quàng",
    "Điêu",
    "Mùa",
]
SURNAME_WEIGHTS = [14, 6, 6, 4, 4, 3, 2, 2, 2, 6, 4, 4, 5, 5, 4, 4, 2, 3, 2, 2, 3, 3, 2, 3]
MIDDLE = ["Văn", "Thị", "A", "Seo", "Minh", "Thu", "Hồng", "Đức", "Ngọc", "Xuân", "Thanh", "Quang"]
GIVEN = [
    "An",
    "Bình",
    "Chiến",
    "Dũng",
    "Dung",
    "Giang",
    "Hà",
    "Hải",
    "Hằng",
    "Hoa",
    "Hùng",
    "Hương",
    "Khánh",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Minh",
    "Nam",
    "Nga",
    "Pháo",
    "Phương",
    "Quân",
    "Sáng",
    "Sơn",
    "Tâm",
    "Thắng",
    "Thảo",
    "Tiến",
    "Trang",
    "Tuấn",
    "Vân",
    "Xuân",
    "Páo",
    "Chứ",
    "Sử",
    "Lả",
    "Mỷ",
    "Dua",
    "Pó",
    "Chang",
    "Súa",
    "Khoa",
    "Yến",
    "Ngân",
    "Hiền",
]
COMPANY_KINDS = ["Công ty TNHH", "Công ty cổ phần", "Hợp tác xã", "Công ty TNHH MTV"]
COMPANY_NAMES = [
    "Xây dựng Tây Bắc",
    "Thương mại Nậm Na",
    "Dịch vụ Sông Đà",
    "Chè Tam Đường",
    "Nông sản Sìn Hồ",
    "Vận tải Phong Thổ",
    "Du lịch Pu Ta Leng",
    "Thủy điện Nậm Nhùn",
]
VILLAGES = [
    "Bản Nậm Củm",
    "Bản Pa Kéo",
    "Bản Hua Bum",
    "Bản Nậm Nhùn",
    "Bản Phiêng Lúc",
    "Bản Mường Mô",
    "Bản Tân Lập",
    "Bản Noong Hẻo",
    "Bản Nà Khương",
    "Bản Lả Mù",
    "Tổ dân phố số 1",
    "Tổ dân phố số 5",
    "Bản Chang",
    "Bản Pa Mu",
    "Bản Nậm Ngà",
]
PHONE_PREFIXES = ["091", "094", "098", "097", "096", "086", "088", "081", "083", "084", "033", "035", "039"]
MAIL_DOMAINS = ["gmail.com", "gmail.com", "gmail.com", "yahoo.com", "laichau.gov.vn"]
PLACEHOLDER_ID = "000000001"


def ascii_fold(text: str) -> str:
    folded = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in folded if not unicodedata.combining(c))


def person_name(rng: random.Random) -> str:
    surname = rng.choices(SURNAMES, SURNAME_WEIGHTS)[0]
    return f"{surname} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def company_name(rng: random.Random) -> str:
    return f"{rng.choice(COMPANY_KINDS)} {rng.choice(COMPANY_NAMES)} {rng.randint(1, 99)}"


def citizen_id(rng: random.Random) -> str:
    # 12 digits: province of birth (012 = Lai Châu, or elsewhere), century/sex, year, serial.
    province = rng.choice(["012", "012", "012", "011", "014", "001", "036"])
    year = rng.randint(1950, 2018)
    century_sex = (0 if year < 2000 else 2) + rng.randint(0, 1)
    return f"{province}{century_sex}{year % 100:02d}{rng.randrange(1_000_000):06d}"


def phone(rng: random.Random) -> str:
    return f"{rng.choice(PHONE_PREFIXES)}{rng.randrange(10_000_000):07d}"


def email(rng: random.Random, name: str, province_domain: str = "laichau.gov.vn") -> str:
    parts = ascii_fold(name).lower().split()
    number = rng.randint(1, 9999)
    domain = rng.choice(MAIL_DOMAINS)
    if domain == "laichau.gov.vn":  # the province's own mail domain
        domain = province_domain
    return f"{parts[-1]}{''.join(p[0] for p in parts[:-1])}{number}@{domain}"


def address(rng: random.Random, commune: str, district: str | None, province: str = "Lai Châu") -> str:
    place = f"{rng.choice(VILLAGES)}, {commune[0].lower()}{commune[1:]}"
    if district:
        place += f", {district[0].lower()}{district[1:]}"
    return f"{place}, tỉnh {province}"
