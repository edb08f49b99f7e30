"""HTML from the Jinja2 template include/templates/unit_report.html.j2, PDF from that HTML with
WeasyPrint (offline; needs the system's Pango). Files go to output/reports/<unit>_<period>.html|pdf
(TTHC_REPORT_DIR overrides the folder)."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from tthc import PROJECT_ROOT
from tthc.report import charts, fmt, form_06
from tthc.report.data import KEY_INDICATORS, ReportData

log = logging.getLogger(__name__)

TEMPLATE_DIR = PROJECT_ROOT / "include" / "templates"
TEMPLATE = "unit_report.html.j2"
PERCENT_AXIS = {"lower": 0.0, "upper": 1.0}


def report_dir() -> Path:
    return Path(os.environ.get("TTHC_REPORT_DIR") or PROJECT_ROOT / "output" / "reports")


def file_stem(data: ReportData) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{data.unit_code}_{data.period.key}")


def _month_label(month) -> str:
    return f"T{month.month}/{month.year % 100:02d}"


def _value(row: dict, kind: str):
    return row.get("ratio") if kind == "ratio" else row.get("numerator")


def _charts(data: ReportData) -> dict[str, Markup]:
    out: dict[str, Markup] = {}
    kinds = {f["indicator_code"]: (f["kind"], f["label_vi"]) for f in data.figures}
    labels = [_month_label(m) for m in data.trend_months]
    for code in KEY_INDICATORS:
        if code not in data.trend:
            continue
        kind, label = kinds.get(code, ("ratio" if code not in ("RECEIVED", "FINISHED") else "count", code))
        values = [None if _value(r, kind) is None else float(_value(r, kind)) for r in data.trend[code]]
        if kind == "ratio":
            svg = charts.line_chart(
                labels, values, title=label, format_value=lambda v: fmt.percent(v, 0), **PERCENT_AXIS
            )
        else:
            svg = charts.line_chart(
                labels, values, title=label, format_value=lambda v: fmt.number(v), lower=0.0
            )
        out[f"trend_{code}"] = Markup(svg)
    if data.score_groups:
        out["groups"] = Markup(
            charts.bar_chart(
                [
                    (f"{g['group_no'] or ''}. {g['label_vi']}", g["score"], g["max_points"])
                    for g in data.score_groups
                ],
                title="Điểm theo nhóm tiêu chí (Quyết định 766)",
                format_value=lambda v: fmt.number(v, 2),
            )
        )
    if data.peers:
        out["peers"] = Markup(
            charts.bar_chart(
                [(f"{p['rank_in_level']}. {p['unit_name']}", p["total_score"], None) for p in data.peers],
                title="Tổng điểm 766 của các đơn vị cùng cấp",
                format_value=lambda v: fmt.number(v, 2),
                highlight=f"{data.score['rank_in_level']}. {data.unit_name}" if data.score else None,
            )
        )
    if data.late_by_procedure:
        out["late_procedure"] = Markup(
            charts.bar_chart(
                [(_short(r["procedure_name"]), r["late"], None) for r in data.late_by_procedure[:10]],
                title="Hồ sơ trễ hạn theo thủ tục (nhiều nhất)",
                format_value=lambda v: fmt.number(v),
                label_width=330,
            )
        )
    return out


def _short(text: str | None, limit: int = 48) -> str:
    text = text or "?"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _signed(value, decimals: int = 2) -> str:
    """A difference with its sign: +0,59 / −0,59 / 0,00."""
    if value is None:
        return fmt.NOT_AVAILABLE
    text = fmt.number(abs(value), decimals)
    if text.strip("0,.") == "":
        return text
    return ("+" if value > 0 else "−") + text


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=fmt.percent, num=fmt.number, signed=_signed, month_label=_month_label)
    return env


def render_html(data: ReportData) -> str:
    return (
        environment()
        .get_template(TEMPLATE)
        .render(r=data, charts=_charts(data), na=fmt.NOT_AVAILABLE, form_06_columns=form_06.COLUMNS)
    )


def render_pdf(html: str, path: Path) -> Path | None:
    """Writes the PDF; returns None (and logs why) where WeasyPrint or Pango is not installed."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: the Pango library is missing
        log.warning("no PDF: WeasyPrint is not usable here (%s)", exc)
        return None
    HTML(string=html, base_url=str(TEMPLATE_DIR)).write_pdf(str(path))
    return path


def write_report(data: ReportData, folder: Path | None = None, *, pdf: bool = True) -> dict[str, Path]:
    folder = folder or report_dir()
    folder.mkdir(parents=True, exist_ok=True)
    html = render_html(data)
    paths = {"html": folder / f"{file_stem(data)}.html"}
    paths["html"].write_text(html, encoding="utf-8")
    if pdf and (written := render_pdf(html, folder / f"{file_stem(data)}.pdf")):
        paths["pdf"] = written
    log.info("report written: %s", ", ".join(str(p) for p in paths.values()))
    return paths
