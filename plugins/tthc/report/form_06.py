"""Form 06/VPCP/KSTT (Circular 01/2020/TT-VPCP), the table staff hand in, from ``mart.form_06``.

    form = load_form_06(conn, "H35", parse_period("2024-Q2"))     # statutory window, as recorded
    path = write_workbook(form, report_dir() / form.file_name)    # form_06_H35_2024-Q2_statutory.xlsx

Options (the DAG's conf, with these defaults):
- ``kind``: ``statutory`` (the reporting window of Decree 09/2019/NĐ-CP, e.g. Q2 2024 =
  15/03/2024 – 14/06/2024) or ``calendar`` (the calendar period);
- ``scheme``: ``as_recorded`` (units as they were when the dossier was received) or ``current``
  (history attributed to today's units);
- ``layout``: ``fields`` (one unit: a row per field, then "Tổng số"), ``units`` (a summary: the
  units below the unit grouped by level, "Cấp tỉnh (sở, ban, ngành)", "Cấp huyện", "Cấp xã",
  each with its subtotal, then "Tổng số"), or ``auto`` (default: ``units`` when the unit has units
  below it in the form's rows, e.g. the province or a district, else ``fields``).

In a summary, a unit's row counts the unit and the units below it at the same level; a unit below
it at another level has a row of its own at that level (a district's row is its people's committee
and its offices, its communes are under "Cấp xã"). The summary unit's own dossiers (not those of
a unit below it) are a row "(trực tiếp giải quyết)" of its level when there are any. Every row is
read from, or is a difference of, the units' total rows of ``mart.form_06``, so the groups add up
to the unit's total row.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from tthc import warehouse
from tthc.report import fmt
from tthc.report.period import Period, period_of
from tthc.settings import LOCAL_TZ

KINDS = ("statutory", "calendar")
SCHEMES = ("as_recorded", "current")
LAYOUTS = ("auto", "fields", "units")
FORM_NUMBER = "Biểu số 06/VPCP/KSTT"
CIRCULAR = "Ban hành kèm theo Thông tư số 01/2020/TT-VPCP"
TITLE = (
    "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH TẠI CƠ QUAN, ĐƠN VỊ TRỰC TIẾP "
    "GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
)
UNIT_OF_MEASURE = "Đơn vị tính: Số hồ sơ TTHC"
# The form's numeric columns (3)..(13), in order: mart.form_06's column names.
COLUMNS = (
    "received_total",
    "received_online",
    "received_in_person",
    "received_carried_over",
    "finished_total",
    "finished_early",
    "finished_on_time",
    "finished_late",
    "in_progress_total",
    "in_progress_within_time",
    "in_progress_overdue",
)
LABEL_HEADER = {
    "fields": "Lĩnh vực, công việc giải quyết theo cấp",
    "units": "Tên đơn vị",
}
# The levels a summary groups its units by (mart.unit_type_label's types), in the form's order.
LEVELS = (
    ("tinh", "Cấp tỉnh (sở, ban, ngành)", frozenset({"TINH", "SO_NGANH"})),
    ("huyen", "Cấp huyện", frozenset({"HUYEN", "PHONG_HUYEN"})),
    ("xa", "Cấp xã", frozenset({"XA"})),
)
OTHER_LEVEL = ("khac", "Đơn vị khác")
ROMAN = ("I", "II", "III", "IV", "V", "VI")
OWN_ROW = "{name} (trực tiếp giải quyết)"


class Form06NotAvailable(LookupError):
    """mart.form_06 has no rows for the unit, period, kind and scheme asked for."""


@dataclass(frozen=True)
class Form06Line:
    role: str  # "group" (a level's heading and subtotal), "row", "total"
    number: str  # the STT column: I, II (groups), 1, 2 (rows), "" (total)
    label: str
    values: dict[str, int]  # COLUMNS -> count
    code: str | None = None  # unit_code or field_code of a row; the level of a group


@dataclass
class Form06:
    unit_code: str
    unit_name: str
    unit_type: str | None
    period: Period
    kind: str
    scheme: str
    layout: str  # fields or units (never auto)
    window_start: date
    window_end: date  # exclusive
    lines: list[Form06Line]
    finished_without_due: int  # of the total row's finished_on_time: no promised date
    computed_at: datetime | None = None
    generated_at: datetime = field(default_factory=lambda: datetime.now(LOCAL_TZ))

    @property
    def window_last_day(self) -> date:
        return self.window_end - timedelta(days=1)

    @property
    def total(self) -> Form06Line:
        return self.lines[-1]

    @property
    def label_header(self) -> str:
        return LABEL_HEADER[self.layout]

    @property
    def period_heading(self) -> str:
        label = self.period.label_vi[:1].upper() + self.period.label_vi[1:]
        if self.kind == "statutory":
            return (
                f"Kỳ báo cáo: {label} (kỳ báo cáo theo Nghị định số 09/2019/NĐ-CP, "
                f"chốt số liệu ngày {self.window_last_day.day})"
            )
        return f"Kỳ báo cáo: {label} (kỳ dương lịch)"

    @property
    def window_heading(self) -> str:
        return (
            f"Số liệu từ ngày {self.window_start.strftime('%d/%m/%Y')} "
            f"đến ngày {self.window_last_day.strftime('%d/%m/%Y')}"
        )

    @property
    def file_name(self) -> str:
        return form_06_file_name(self.unit_code, self.period.key, self.kind)

    def notes(self) -> list[str]:
        """The notes under the table, for the people who read the form."""
        total = self.total.values
        start, last = self.window_start.strftime("%d/%m/%Y"), self.window_last_day.strftime("%d/%m/%Y")
        notes = [
            f"Trong {fmt.number(total['finished_total'])} hồ sơ đã giải quyết (cột 7) có "
            f"{fmt.number(self.finished_without_due)} hồ sơ không có ngày hẹn trả, được tính là trả đúng thời hạn "
            "(cột 9).",
            "Trả trước hạn, đúng thời hạn, quá hạn (cột 8–10) và đang giải quyết trong hạn, quá hạn (cột 12–13) "
            "xác định theo Quyết định số 766/QĐ-TTg: không tính thời gian tạm dừng chờ người dân, doanh nghiệp "
            "bổ sung hồ sơ; hồ sơ phải bổ sung từ hai lần trở lên tính là quá hạn; trước hạn, đúng hạn so sánh "
            "ngày có kết quả với ngày hẹn trả.",
            f"Từ kỳ trước (cột 6): hồ sơ đang giải quyết lúc 0 giờ ngày {start}; đang giải quyết (cột 11): hồ sơ "
            f"chưa giải quyết xong lúc hết ngày {last}. Cột 3 = cột 7 + cột 11.",
            "Mỗi hồ sơ tính cho đơn vị có thẩm quyền giải quyết ghi trên hồ sơ, "
            + (
                "theo đơn vị hành chính tại thời điểm tiếp nhận."
                if self.scheme == "as_recorded"
                else "quy đổi sang đơn vị hành chính hiện nay."
            ),
        ]
        if self.layout == "units":
            notes.append(
                "Số liệu của mỗi đơn vị gồm các đơn vị trực thuộc cùng cấp (số liệu của huyện gồm Ủy ban nhân "
                "dân huyện và các phòng chuyên môn); các xã, thị trấn ghi ở cấp xã. Dòng “trực tiếp giải quyết” "
                "là hồ sơ do chính đơn vị báo cáo giải quyết."
            )
        stamp = (
            f"Lập lúc {self.generated_at.strftime('%H:%M ngày %d/%m/%Y')} từ kho dữ liệu thủ tục hành chính"
        )
        if self.computed_at:
            computed = self.computed_at.astimezone(LOCAL_TZ)
            stamp += f" (số liệu tính lúc {computed.strftime('%H:%M ngày %d/%m/%Y')})"
        notes.append(stamp + ".")
        return notes


def form_06_file_name(unit_code: str, period_key: str, kind: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"form_06_{unit_code}_{period_key}_{kind}") + ".xlsx"


def check_options(kind: str, scheme: str, layout: str) -> None:
    for name, value, allowed in (
        ("kind", kind, KINDS),
        ("scheme", scheme, SCHEMES),
        ("layout", layout, LAYOUTS),
    ):
        if value not in allowed:
            raise ValueError(f"unknown {name} {value!r}: one of {', '.join(allowed)}")


def read_form_06_rows(
    conn: psycopg.Connection, unit_code: str, period: Period, *, kind: str, scheme: str
) -> list[dict[str, Any]]:
    """The unit's rows of mart.form_06 and every unit's total row of the same window and scheme."""
    return warehouse.query(
        conn,
        "marts/form_06_rows.sql",
        {
            "unit": unit_code,
            "kind": kind,
            "period_type": period.period_type,
            "period_start": period.start,
            "scheme": scheme,
        },
    )


def load_form_06(
    conn: psycopg.Connection,
    unit_code: str,
    period: Period,
    *,
    kind: str = "statutory",
    scheme: str = "as_recorded",
    layout: str = "auto",
) -> Form06 | None:
    """The form of ``unit_code`` for ``period``; None when mart.form_06 has no row for it."""
    check_options(kind, scheme, layout)
    rows = read_form_06_rows(conn, unit_code, period, kind=kind, scheme=scheme)
    return build_form_06(rows, unit_code, period, kind=kind, scheme=scheme, layout=layout)


def _values(row: dict[str, Any]) -> dict[str, int]:
    return {column: int(row[column]) for column in COLUMNS}


def _minus(values: dict[str, int], others: list[dict[str, int]]) -> dict[str, int]:
    return {column: values[column] - sum(other[column] for other in others) for column in COLUMNS}


def _sum(values: list[dict[str, int]]) -> dict[str, int]:
    return {column: sum(v[column] for v in values) for column in COLUMNS}


def level_of(unit_type: str | None) -> str:
    return next((key for key, _, types in LEVELS if unit_type in types), OTHER_LEVEL[0])


def build_form_06(
    rows: list[dict[str, Any]],
    unit_code: str,
    period: Period,
    *,
    kind: str = "statutory",
    scheme: str = "as_recorded",
    layout: str = "auto",
) -> Form06 | None:
    """The form's lines from ``read_form_06_rows``' rows (see the module's doc for the layouts)."""
    check_options(kind, scheme, layout)
    totals = {row["unit_code"]: row for row in rows if row["field_code"] is None}
    unit = totals.get(unit_code)
    if unit is None:
        return None
    children: dict[str, list[str]] = defaultdict(list)
    for code, row in sorted(totals.items()):
        if row["parent_code"] in totals and code != unit_code:
            children[row["parent_code"]].append(code)
    if layout == "auto":
        layout = "units" if children.get(unit_code) else "fields"
    lines = _field_lines(rows, unit_code) if layout == "fields" else _unit_lines(totals, children, unit_code)
    lines.append(Form06Line("total", "", "Tổng số", _values(unit)))
    return Form06(
        unit_code=unit_code,
        unit_name=unit["unit_name"],
        unit_type=unit["unit_type"],
        period=period,
        kind=kind,
        scheme=scheme,
        layout=layout,
        window_start=unit["window_start"],
        window_end=unit["window_end"],
        lines=lines,
        finished_without_due=int(unit["finished_without_due"]),
        computed_at=unit["computed_at"],
    )


def _field_lines(rows: list[dict[str, Any]], unit_code: str) -> list[Form06Line]:
    fields = [row for row in rows if row["unit_code"] == unit_code and row["field_code"] is not None]
    fields.sort(key=lambda row: (row["field_code"] == "", row["field_code"]))
    return [
        Form06Line("row", str(n), row["field_name"] or row["field_code"], _values(row), row["field_code"])
        for n, row in enumerate(fields, start=1)
    ]


def _unit_lines(
    totals: dict[str, dict[str, Any]], children: dict[str, list[str]], unit_code: str
) -> list[Form06Line]:
    # The rows: every unit below unit_code that is its child or at another level than its parent;
    # each row is its total less the total of the rows listed below it.
    listed_under: dict[str, list[str]] = defaultdict(list)

    def walk(code: str, nearest_listed: str) -> None:
        for child in children.get(code, []):
            if code == unit_code or level_of(totals[child]["unit_type"]) != level_of(
                totals[code]["unit_type"]
            ):
                listed_under[nearest_listed].append(child)
                walk(child, child)
            else:
                walk(child, nearest_listed)

    walk(unit_code, unit_code)
    listed = sorted(code for codes in listed_under.values() for code in codes)

    def own(code: str) -> dict[str, int]:
        return _minus(_values(totals[code]), [_values(totals[c]) for c in listed_under.get(code, [])])

    members: dict[str, list[tuple[str, str, dict[str, int]]]] = defaultdict(list)
    mine = own(unit_code)
    if any(mine.values()):
        name = OWN_ROW.format(name=totals[unit_code]["unit_name"])
        members[level_of(totals[unit_code]["unit_type"])].append((unit_code, name, mine))
    for code in listed:
        members[level_of(totals[code]["unit_type"])].append((code, totals[code]["unit_name"], own(code)))
    lines: list[Form06Line] = []
    groups = [(key, label) for key, label, _ in LEVELS] + [OTHER_LEVEL]
    for number, (key, label) in zip(ROMAN, [g for g in groups if members.get(g[0])], strict=False):
        lines.append(Form06Line("group", number, label, _sum([v for *_, v in members[key]]), key))
        lines.extend(
            Form06Line("row", str(n), name, values, code)
            for n, (code, name, values) in enumerate(members[key], start=1)
        )
    return lines


def closed_statutory_periods(conn: psycopg.Connection, day: date) -> list[Period]:
    """The periods whose statutory window closed in the month up to ``day`` (window_end in
    (day - 1 month, day]): on the day after a cut-off, the month that just closed and, with it,
    its quarter, half and year when they close too. Shortest first."""
    rows = warehouse.query(conn, "marts/statutory_closed.sql", {"day": day})
    return [period_of(row["period_type"], row["period_start"]) for row in rows]


# ---- the workbook -------------------------------------------------------------------------------

HEADER_ROW = 7  # the grouped headers take rows 7-9, the column numbers row 10, data from row 11
FIRST_DATA_ROW = 11
WIDTHS = {"A": 6, "B": 46, **{letter: 12 for letter in "CDEFGHIJKLM"}}
FONT_NAME = "Times New Roman"


def write_workbook(form: Form06, path: Path) -> Path:
    """Writes the form as one sheet laid out like the official form; returns ``path``."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.worksheet.properties import PageSetupProperties

    wb = Workbook()
    ws = wb.active
    ws.title = "Biểu 06"
    font = Font(name=FONT_NAME, size=11)
    bold = Font(name=FONT_NAME, size=11, bold=True)
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)

    def put(
        cell: str, value, *, merge: str | None = None, style: Font = font, align: Alignment | None = None
    ):
        ws[cell] = value
        ws[cell].font = style
        ws[cell].alignment = align or Alignment(vertical="center", wrap_text=True)
        if merge:
            ws.merge_cells(f"{cell}:{merge}")

    put("A1", FORM_NUMBER, merge="C1", style=bold)
    put("A2", CIRCULAR, merge="C2", style=Font(name=FONT_NAME, size=9, italic=True))
    put(
        "J1",
        f"Đơn vị báo cáo: {form.unit_name}",
        merge="M1",
        style=bold,
        align=Alignment(horizontal="right", vertical="center", wrap_text=True),
    )
    put(
        "J2",
        f"Mã đơn vị: {form.unit_code}",
        merge="M2",
        align=Alignment(horizontal="right", vertical="center"),
    )
    put("A3", TITLE, merge="M3", style=Font(name=FONT_NAME, size=13, bold=True), align=center)
    put("A4", form.period_heading, merge="M4", style=bold, align=center)
    put(
        "A5",
        f"({form.window_heading})",
        merge="M5",
        style=Font(name=FONT_NAME, size=11, italic=True),
        align=center,
    )
    put(
        "J6",
        UNIT_OF_MEASURE,
        merge="M6",
        style=Font(name=FONT_NAME, size=11, italic=True),
        align=Alignment(horizontal="right"),
    )
    ws.row_dimensions[3].height = 36

    headers = [
        ("A7", "A9", "STT"),
        ("B7", "B9", form.label_header),
        ("C7", "F7", "Số hồ sơ nhận giải quyết"),
        ("G7", "J7", "Số hồ sơ đã giải quyết"),
        ("K7", "M7", "Số hồ sơ đang giải quyết"),
        ("C8", "C9", "Tổng số"),
        ("D8", "E8", "Trong kỳ"),
        ("D9", None, "Trực tuyến"),
        ("E9", None, "Trực tiếp, dịch vụ bưu chính"),
        ("F8", "F9", "Từ kỳ trước"),
        ("G8", "G9", "Tổng số"),
        ("H8", "H9", "Trả trước hạn"),
        ("I8", "I9", "Trả đúng thời hạn"),
        ("J8", "J9", "Trả quá hạn"),
        ("K8", "K9", "Tổng số"),
        ("L8", "L9", "Trong hạn"),
        ("M8", "M9", "Quá hạn"),
    ]
    header_fill = PatternFill("solid", fgColor="F2F2F2")
    for row in range(HEADER_ROW, FIRST_DATA_ROW):
        for col in range(1, 14):
            cell = ws.cell(row=row, column=col)
            cell.border, cell.font, cell.alignment, cell.fill = border, bold, center, header_fill
    for first, last, text in headers:
        ws[first] = text
        if last:
            ws.merge_cells(f"{first}:{last}")
    for col in range(1, 14):
        ws.cell(row=FIRST_DATA_ROW - 1, column=col, value=f"({col})").font = Font(
            name=FONT_NAME, size=10, italic=True
        )
    ws.row_dimensions[9].height = 45

    row = FIRST_DATA_ROW
    for line in form.lines:
        style = bold if line.role in ("group", "total") else font
        number = int(line.number) if line.number.isdigit() else line.number or None
        cells = [number, line.label, *(line.values[c] for c in COLUMNS)]
        for col, value in enumerate(cells, start=1):
            cell = ws.cell(row=row, column=col, value=value)
            cell.font, cell.border = style, border
            if col == 1:
                cell.alignment = Alignment(horizontal="center", vertical="center")
            elif col == 2:
                cell.alignment = Alignment(
                    vertical="center", wrap_text=True, indent=1 if line.role == "row" else 0
                )
            else:
                cell.number_format = "#,##0"
                cell.alignment = Alignment(horizontal="right", vertical="center")
        row += 1

    row += 1
    ws.cell(row=row, column=1, value="Ghi chú:").font = bold
    for n, note in enumerate(form.notes(), start=1):
        row += 1
        put(f"A{row}", f"({n}) {note}", merge=f"M{row}", align=Alignment(vertical="top", wrap_text=True))
        ws.row_dimensions[row].height = 15 * (1 + len(note) // 150)

    for letter, width in WIDTHS.items():
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = f"C{FIRST_DATA_ROW}"
    ws.print_title_rows = f"{HEADER_ROW}:{FIRST_DATA_ROW - 1}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    wb.properties.title = f"{FORM_NUMBER} – {form.unit_name} – {form.period.label_vi}"
    wb.properties.creator = "tthc-pipeline"

    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
