"""Charts as inline SVG, drawn here: no plotting library, nothing to fetch, the same in HTML and
PDF. Every text is escaped; sizes are in CSS pixels."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

FONT = "font-family='DejaVu Sans, Arial, sans-serif'"
BAR = "#2b6cb0"
BAR_MUTED = "#a0aec0"
HIGHLIGHT = "#c53030"
GRID = "#e2e8f0"
TEXT = "#2d3748"


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def line_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    title: str,
    format_value: Callable[[float], str],
    width: int = 340,
    height: int = 150,
    lower: float | None = None,
    upper: float | None = None,
) -> str:
    """A small line chart of one series (None = no value that month: the line breaks there)."""
    left, right, top, bottom = 44, 10, 24, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    present = [v for v in values if v is not None]
    low = lower if lower is not None else (min(present) if present else 0.0)
    high = upper if upper is not None else (max(present) if present else 1.0)
    if present and lower is None:
        low = min(low, min(present))
    if high <= low:
        high = low + (abs(low) or 1.0)
    step = plot_w / max(len(values) - 1, 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: float) -> float:
        return top + plot_h - (v - low) / (high - low) * plot_h

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' class='chart' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img' aria-label='{escape(title, quote=True)}'>",
        f"<text x='{left}' y='14' font-size='11' font-weight='bold' fill='{TEXT}' {FONT}>{escape(title)}</text>",
    ]
    for v in (low, (low + high) / 2, high):
        parts.append(
            f"<line x1='{left}' x2='{width - right}' y1='{_fmt(y(v))}' y2='{_fmt(y(v))}' stroke='{GRID}'/>"
        )
        parts.append(
            f"<text x='{left - 4}' y='{_fmt(y(v) + 3)}' font-size='8' text-anchor='end' fill='{TEXT}' "
            f"{FONT}>{escape(format_value(v))}</text>"
        )
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, v in enumerate(values):
        if v is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{_fmt(x(i))},{_fmt(y(v))}")
        parts.append(
            f"<circle cx='{_fmt(x(i))}' cy='{_fmt(y(v))}' r='2.5' fill='{BAR}'>"
            f"<title>{escape(labels[i])}: {escape(format_value(v))}</title></circle>"
        )
    if segment:
        segments.append(segment)
    for seg in segments:
        if len(seg) > 1:
            parts.append(
                f"<polyline fill='none' stroke='{BAR}' stroke-width='1.8' points='{' '.join(seg)}'/>"
            )
    for i, label in enumerate(labels):
        if i % 2 == 0 or i == len(labels) - 1:
            parts.append(
                f"<text x='{_fmt(x(i))}' y='{height - 10}' font-size='8' text-anchor='middle' "
                f"fill='{TEXT}' {FONT}>{escape(label)}</text>"
            )
    if not present:
        parts.append(
            f"<text x='{left + plot_w / 2}' y='{top + plot_h / 2}' font-size='10' text-anchor='middle' "
            f"fill='{TEXT}' {FONT}>chưa có dữ liệu</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    rows: Sequence[tuple[str, float | None, float | None]],
    *,
    title: str,
    format_value: Callable[[float], str],
    highlight: str | None = None,
    width: int = 680,
    bar_height: int = 18,
    label_width: int = 230,
) -> str:
    """Horizontal bars: (label, value, maximum or None). With a maximum the bar shows value/maximum
    on a grey track; without, bars are scaled to the largest value. ``highlight`` colours one label."""
    right = 70
    plot_w = width - label_width - right
    top = 24
    height = top + len(rows) * (bar_height + 6) + 6
    scale = max([m or v or 0 for _, v, m in rows] + [1e-9])
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' class='chart' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img' aria-label='{escape(title, quote=True)}'>",
        f"<text x='0' y='14' font-size='11' font-weight='bold' fill='{TEXT}' {FONT}>{escape(title)}</text>",
    ]
    for i, (label, value, maximum) in enumerate(rows):
        y = top + i * (bar_height + 6)
        denominator = maximum if maximum else scale
        colour = HIGHLIGHT if highlight is not None and label == highlight else BAR
        if maximum:
            parts.append(
                f"<rect x='{label_width}' y='{y}' width='{_fmt(plot_w)}' height='{bar_height}' "
                f"fill='{GRID}'/>"
            )
        if value is not None:
            bar_w = max(0.0, min(1.0, float(value) / float(denominator))) * plot_w
            parts.append(
                f"<rect x='{label_width}' y='{y}' width='{_fmt(bar_w)}' height='{bar_height}' "
                f"fill='{colour}'/>"
            )
        shown = format_value(float(value)) if value is not None else "–"
        if maximum:
            shown += f" / {format_value(float(maximum))}"
        parts.append(
            f"<text x='{label_width - 6}' y='{y + bar_height - 5}' font-size='10' text-anchor='end' "
            f"fill='{TEXT}' {FONT}>{escape(label)}</text>"
        )
        parts.append(
            f"<text x='{label_width + plot_w + 4}' y='{y + bar_height - 5}' font-size='9' "
            f"fill='{TEXT}' {FONT}>{escape(shown)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
