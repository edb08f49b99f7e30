"""The daily digest: each unit its own list of the dossiers to act on, by e-mail, and one summary
line per unit on the webhook.

For a digest day (a working day; the DAG ``tthc_watchlist`` runs at 07:00 local time) the digest
reads, at the instant ``digest_instant(day)`` = that day 07:00 local:
- ``mart.watchlist_at(instant)``: the dossiers open then that are overdue, waiting for a
  supplement, due within 24 hours or within 72 hours (``mart.watchlist_category``);
- ``mart.late_without_apology_at(instant)``: those finished late in the 30 days before without an
  apology slip,
so that re-running a past day rebuilds that day's lists from the timestamps, whatever was loaded
since. Entries are grouped by competent unit (``unit_code``); a unit with neither kind of entry
gets nothing.

Each unit with entries gets one message (Vietnamese subject, plain text and HTML bodies, the
unit's entries as a CSV attachment, UTF-8 with BOM so that Excel reads the diacritics) to its
active addresses in ``quality.unit_contact``; a unit without one goes to the fallback address
(``fallback_address``) and is named in a warning. The webhook gets one line per unit
(``summary_line``), all of a day's lines in one POST (cut every ``WEBHOOK_LINES_PER_POST`` lines):
one chat message per day instead of one per unit, well inside the chat services' rate limits.

The sent-log ``quality.digest_sent`` (day, unit, channel) is read before sending and written
right after each send succeeds (a mail; a webhook POST, for all its lines), each in its own
transaction: a re-run after a partial failure sends only what is missing, a re-run of a finished
day sends nothing.

Mail goes through the SMTP connection ``smtp_default`` and the webhook through
``tthc_alert_webhook``, with the alerts' own client code (``tthc.quality.alerts``).
"""

from __future__ import annotations

import csv
import html
import io
import logging
import os
import smtplib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import formatdate, make_msgid

import psycopg

from tthc import warehouse
from tthc.quality.alerts import mail_sender, post_webhook_text, smtp_session
from tthc.settings import LOCAL_TZ, ConfigurationError, ConnectionFields

log = logging.getLogger(__name__)

DIGEST_TIME = time(7, 0)
FALLBACK_ENV = "TTHC_DIGEST_FALLBACK_EMAIL"
WEBHOOK_LINES_PER_POST = 50
LATE_SECTION = "Hồ sơ quá hạn chưa có phiếu xin lỗi"
LATE_LABEL = "quá hạn chưa có phiếu xin lỗi"
NO_CONTACT_PREFIX = "[Chưa có địa chỉ nhận] "


class DigestIncompleteError(RuntimeError):
    """Some digests of the day were not sent; the others were, and are in the sent-log, so a retry
    of the task sends only these."""


@dataclass(frozen=True)
class Category:
    category: str
    urgency: int
    label: str  # 'Hỏa tốc (đến hạn trong 24 giờ)'

    @property
    def short(self) -> str:
        """'hỏa tốc': the label without its explanation, as the webhook line counts it."""
        return self.label.split(" (", 1)[0].lower()


@dataclass
class UnitDigest:
    """One unit's entries: watchlist rows (most urgent first) and late dossiers without apology."""

    unit_code: str
    unit_name: str | None = None
    entries: list[dict] = field(default_factory=list)
    late: list[dict] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.entries) + len(self.late)

    @property
    def title(self) -> str:
        return f"{self.unit_code} {self.unit_name}" if self.unit_name else self.unit_code

    def counts(self, categories: Sequence[Category]) -> dict[str, int]:
        counts = dict.fromkeys((c.category for c in categories), 0)
        for entry in self.entries:
            counts[entry["category"]] = counts.get(entry["category"], 0) + 1
        return counts


@dataclass
class DigestOutcome:
    day: date
    at: datetime
    units: list[str] = field(default_factory=list)  # units with entries
    mailed: list[str] = field(default_factory=list)
    already_mailed: list[str] = field(default_factory=list)
    to_fallback: list[str] = field(default_factory=list)
    posted: list[str] = field(default_factory=list)
    already_posted: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # "unit/channel" -> why

    def as_dict(self) -> dict:
        return {
            "day": self.day.isoformat(),
            "at": self.at.isoformat(),
            "units": len(self.units),
            "mailed": self.mailed,
            "already_mailed": self.already_mailed,
            "to_fallback": self.to_fallback,
            "posted": self.posted,
            "already_posted": self.already_posted,
            "failed": self.failed,
        }


# When ------------------------------------------------------------------------------------------


def digest_day(moment: datetime | date | str) -> date:
    """The local day a run's logical date (or a 'YYYY-MM-DD' / ISO string) stands for."""
    if isinstance(moment, str):
        moment = (
            datetime.fromisoformat(moment) if "T" in moment or " " in moment else date.fromisoformat(moment)
        )
    if isinstance(moment, datetime):
        return (moment.astimezone(LOCAL_TZ) if moment.tzinfo else moment).date()
    return moment


def digest_instant(day: date) -> datetime:
    """07:00 local time of ``day``: the instant the day's lists are taken at."""
    return datetime.combine(day, DIGEST_TIME, tzinfo=LOCAL_TZ)


def fallback_address(param: str | None = None) -> str | None:
    """Where the digest of a unit without an active contact goes: the DAG param ``fallback_email``,
    else env ``TTHC_DIGEST_FALLBACK_EMAIL``; None when neither is set."""
    for value in (param, os.environ.get(FALLBACK_ENV)):
        if value and value.strip():
            return value.strip()
    return None


# What ------------------------------------------------------------------------------------------


def load_categories(conn: psycopg.Connection) -> list[Category]:
    return [
        Category(row["category"], row["urgency"], row["label_vi"])
        for row in warehouse.query(conn, "marts/digest_categories.sql")
    ]


def load_digests(conn: psycopg.Connection, at: datetime) -> list[UnitDigest]:
    """Every unit with entries at ``at``, by unit code; entries in the order of the SQL files."""
    digests: dict[str, UnitDigest] = {}
    for key, path in (
        ("entries", "marts/digest_watchlist.sql"),
        ("late", "marts/digest_late_without_apology.sql"),
    ):
        for row in warehouse.query(conn, path, {"at": at}):
            digest = digests.setdefault(row["unit_code"], UnitDigest(row["unit_code"], row["unit_name"]))
            digest.unit_name = digest.unit_name or row["unit_name"]
            getattr(digest, key).append(row)
    return [digests[code] for code in sorted(digests)]


def load_contacts(conn: psycopg.Connection) -> dict[str, list[str]]:
    return {
        row["unit_code"]: list(row["emails"]) for row in warehouse.query(conn, "quality/digest_contacts.sql")
    }


def load_sent(conn: psycopg.Connection, day: date) -> set[tuple[str, str]]:
    return {
        (row["unit_code"], row["channel"])
        for row in warehouse.query(conn, "quality/digest_already_sent.sql", {"digest_day": day})
    }


def record_sent(
    conn: psycopg.Connection, day: date, unit_code: str, channel: str, recipients: Sequence[str], entries: int
) -> None:
    """One send in the sent-log, committed at once: a later failure does not undo it."""
    warehouse.run_sql(
        conn,
        "quality/record_digest_sent.sql",
        {
            "digest_day": day,
            "unit_code": unit_code,
            "channel": channel,
            "recipients": list(recipients),
            "entries": entries,
        },
    )
    conn.commit()


# How it reads ----------------------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M") if value else "—"


def _hours(value: Decimal | float | None) -> str:
    return "—" if value is None else f"{float(value):.1f}".replace(".", ",")


def _procedure(row: Mapping) -> str:
    return row.get("procedure_name") or row.get("procedure_code") or "—"


WATCH_COLUMNS = ("Mã hồ sơ", "Thủ tục", "Bộ phận", "Hạn trả", "Số giờ còn lại")
LATE_COLUMNS = ("Mã hồ sơ", "Thủ tục", "Bộ phận", "Hạn trả", "Ngày trả kết quả")


def _watch_cells(row: Mapping) -> tuple[str, ...]:
    return (
        row["ma_ho_so"],
        _procedure(row),
        row["office"] or "—",
        _when(row["due_at"]),
        _hours(row["hours_left"]),
    )


def _late_cells(row: Mapping) -> tuple[str, ...]:
    return (
        row["ma_ho_so"],
        _procedure(row),
        row["office"] or "—",
        _when(row["due_at"]),
        _when(row["finished_at"]),
    )


def _sections(digest: UnitDigest, categories: Sequence[Category]):
    """(heading, columns, rows) of each non-empty section, most urgent first, the late ones last."""
    for category in categories:
        rows = [_watch_cells(e) for e in digest.entries if e["category"] == category.category]
        if rows:
            yield f"{category.label} ({len(rows)})", WATCH_COLUMNS, rows
    if digest.late:
        yield f"{LATE_SECTION} ({len(digest.late)})", LATE_COLUMNS, [_late_cells(r) for r in digest.late]


def subject(digest: UnitDigest, day: date, *, fallback: bool = False) -> str:
    text = f"[TTHC] {digest.title}: {digest.size} hồ sơ cần xử lý ngày {day:%d/%m/%Y}"
    return NO_CONTACT_PREFIX + text if fallback else text


def summary_line(digest: UnitDigest, categories: Sequence[Category]) -> str:
    """'H35.112 Nậm Nhùn: 3 quá hạn, 1 chờ bổ sung, 2 hỏa tốc, 5 khẩn' (every category, most urgent
    first), then the late dossiers without apology when there are any."""
    counts = digest.counts(categories)
    parts = [f"{counts[c.category]} {c.short}" for c in categories]
    if digest.late:
        parts.append(f"{len(digest.late)} {LATE_LABEL}")
    return f"{digest.title}: " + ", ".join(parts)


def _intro(digest: UnitDigest, day: date, fallback: bool) -> list[str]:
    lines = [
        f"Kính gửi {digest.unit_name} ({digest.unit_code}),"
        if digest.unit_name
        else f"Kính gửi {digest.unit_code},",
        "",
        f"Danh sách hồ sơ thủ tục hành chính của đơn vị cần xử lý, lập lúc {DIGEST_TIME:%H:%M} ngày "
        f"{day:%d/%m/%Y} (giờ Việt Nam) từ kho dữ liệu TTHC.",
    ]
    if fallback:
        lines += [
            "",
            "Đơn vị chưa có địa chỉ nhận trong quality.unit_contact: thư này gửi tới địa chỉ dự phòng. "
            "Xin chuyển tiếp cho đơn vị và bổ sung địa chỉ nhận.",
        ]
    return lines


def _totals(digest: UnitDigest, categories: Sequence[Category]) -> list[tuple[str, int]]:
    counts = digest.counts(categories)
    return [(c.label, counts[c.category]) for c in categories] + [
        (f"{LATE_SECTION} (30 ngày qua)", len(digest.late))
    ]


FOOTER = (
    "Người nộp hồ sơ chỉ được ghi bằng mã bí danh (tệp CSV đính kèm), không có dữ liệu cá nhân. "
    "Hạn trả đã cộng thời gian chờ bổ sung; số giờ còn lại âm là đã quá hạn."
)


def plain_text(
    digest: UnitDigest, categories: Sequence[Category], day: date, *, fallback: bool = False
) -> str:
    lines = _intro(digest, day, fallback) + ["", "Tổng hợp:"]
    lines += [f"  {label}: {count}" for label, count in _totals(digest, categories)]
    for heading, columns, rows in _sections(digest, categories):
        lines += ["", f"== {heading} ==", " | ".join(columns)]
        lines += [" | ".join(row) for row in rows]
    lines += ["", FOOTER]
    return "\n".join(lines) + "\n"


def html_text(
    digest: UnitDigest, categories: Sequence[Category], day: date, *, fallback: bool = False
) -> str:
    esc = html.escape
    cell = 'style="border:1px solid #999;padding:2px 6px"'
    parts = ['<html><body style="font-family:sans-serif">']
    parts += [f"<p>{esc(line)}</p>" for line in _intro(digest, day, fallback) if line]
    parts.append(f"<h3>Tổng hợp</h3><table {cell}>")
    parts += [
        f"<tr><td {cell}>{esc(label)}</td><td {cell} align='right'>{count}</td></tr>"
        for label, count in _totals(digest, categories)
    ]
    parts.append("</table>")
    for heading, columns, rows in _sections(digest, categories):
        parts.append(f'<h3>{esc(heading)}</h3><table style="border-collapse:collapse">')
        parts.append("<tr>" + "".join(f"<th {cell}>{esc(c)}</th>" for c in columns) + "</tr>")
        parts += ["<tr>" + "".join(f"<td {cell}>{esc(v)}</td>" for v in row) + "</tr>" for row in rows]
        parts.append("</table>")
    parts.append(f"<p><small>{esc(FOOTER)}</small></p></body></html>")
    return "\n".join(parts)


CSV_COLUMNS = (
    "Tình trạng",
    "Mã hồ sơ",
    "Mã thủ tục",
    "Thủ tục",
    "Bộ phận",
    "Ngày tiếp nhận",
    "Hạn trả",
    "Số giờ còn lại",
    "Ngày trả kết quả",
    "Mã bí danh người nộp",
)


def csv_bytes(digest: UnitDigest, categories: Sequence[Category]) -> bytes:
    """The unit's entries, one row each in the mail's order: UTF-8 with BOM (Excel reads the
    diacritics), times local 'YYYY-MM-DD HH:MM', hours with a decimal point."""
    labels = {c.category: c.label for c in categories}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)

    def stamp(value: datetime | None) -> str:
        return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if value else ""

    for row in digest.entries:
        hours = "" if row["hours_left"] is None else str(row["hours_left"])
        writer.writerow(
            (
                labels.get(row["category"], row["category"]),
                row["ma_ho_so"],
                row["procedure_code"] or "",
                row["procedure_name"] or "",
                row["office"] or "",
                stamp(row["received_at"]),
                stamp(row["due_at"]),
                hours,
                "",
                row["applicant_token"] or "",
            )
        )
    for row in digest.late:
        writer.writerow(
            (
                LATE_SECTION,
                row["ma_ho_so"],
                row["procedure_code"] or "",
                row["procedure_name"] or "",
                row["office"] or "",
                stamp(row["received_at"]),
                stamp(row["due_at"]),
                "",
                stamp(row["finished_at"]),
                row["applicant_token"] or "",
            )
        )
    return out.getvalue().encode("utf-8-sig")


def csv_filename(digest: UnitDigest, day: date) -> str:
    return f"ho_so_can_xu_ly_{digest.unit_code}_{day:%Y-%m-%d}.csv"


# Python 3.11's header folder loses the space between two encoded words when it folds a long
# non-ASCII header ("hồ sơ cần" arrives as "hồ sơcần"): the digests' headers are not folded (one
# line stays far below SMTP's 998 characters).
MAIL_POLICY = default_policy.clone(max_line_length=998)


def build_message(
    sender: str,
    recipients: Sequence[str],
    digest: UnitDigest,
    categories: Sequence[Category],
    day: date,
    *,
    fallback: bool = False,
) -> EmailMessage:
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"], message["To"] = sender, ", ".join(recipients)
    message["Subject"] = subject(digest, day, fallback=fallback)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(plain_text(digest, categories, day, fallback=fallback))
    message.add_alternative(html_text(digest, categories, day, fallback=fallback), subtype="html")
    message.add_attachment(
        csv_bytes(digest, categories), maintype="text", subtype="csv", filename=csv_filename(digest, day)
    )
    return message


# Sending ---------------------------------------------------------------------------------------


def _chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def send_digests(
    conn: psycopg.Connection,
    day: date,
    *,
    fallback: str | None,
    smtp: ConnectionFields | None,
    webhook: ConnectionFields | None,
) -> DigestOutcome:
    """Send ``day``'s digests that the sent-log does not hold yet (see the module's docstring).

    Raises ``ConfigurationError`` when there is mail to send and no SMTP connection, and
    ``DigestIncompleteError`` at the end when some digest could not be sent (a refused address, a
    failed webhook POST, a unit without contact and no fallback): everything else was sent and
    recorded, so a retry sends only the rest.
    """
    at = digest_instant(day)
    categories = load_categories(conn)
    digests = load_digests(conn, at)
    contacts = load_contacts(conn)
    sent = load_sent(conn, day)
    conn.commit()
    outcome = DigestOutcome(day, at, units=[d.unit_code for d in digests])
    log.info("digest of %s (lists at %s): %d unit(s) with entries", day, at.isoformat(), len(digests))

    to_mail = [d for d in digests if (d.unit_code, "email") not in sent]
    outcome.already_mailed = [d.unit_code for d in digests if (d.unit_code, "email") in sent]
    if outcome.already_mailed:
        log.info("digest: already mailed (quality.digest_sent): %s", ", ".join(outcome.already_mailed))
    _mail(conn, day, to_mail, categories, contacts, fallback, smtp, outcome)

    to_post = [d for d in digests if (d.unit_code, "webhook") not in sent]
    outcome.already_posted = [d.unit_code for d in digests if (d.unit_code, "webhook") in sent]
    _post(conn, day, to_post, categories, webhook, outcome)

    log.info("digest of %s: %s", day, outcome.as_dict())
    if outcome.failed:
        raise DigestIncompleteError(
            f"{len(outcome.failed)} digest send(s) of {day} failed (the others were sent and recorded in "
            "quality.digest_sent; a re-run sends only these): "
            + "; ".join(f"{key}: {why}" for key, why in sorted(outcome.failed.items()))
        )
    return outcome


def _mail(
    conn: psycopg.Connection,
    day: date,
    digests: Sequence[UnitDigest],
    categories: Sequence[Category],
    contacts: Mapping[str, list[str]],
    fallback: str | None,
    smtp: ConnectionFields | None,
    outcome: DigestOutcome,
) -> None:
    """One message per unit, in one SMTP session; each recorded as soon as the server took it."""
    without_contact = [d.unit_code for d in digests if not contacts.get(d.unit_code)]
    if without_contact:
        log.warning(
            "digest: %d unit(s) without an active address in quality.unit_contact, %s: %s",
            len(without_contact),
            "mailed to the fallback address instead"
            if fallback
            else f"NOT mailed: no fallback address (DAG param fallback_email or env {FALLBACK_ENV})",
            ", ".join(without_contact),
        )
    if not digests:
        return
    if smtp is None or not smtp.host:
        raise ConfigurationError(
            f"{len(digests)} digest(s) to mail and no SMTP connection smtp_default: set "
            "AIRFLOW_CONN_SMTP_DEFAULT or create the connection in Airflow"
        )
    sender = mail_sender(smtp)
    with smtp_session(smtp) as client:
        for digest in digests:
            use_fallback = not contacts.get(digest.unit_code)
            recipients = contacts.get(digest.unit_code) or ([fallback] if fallback else [])
            if not recipients:
                outcome.failed[f"{digest.unit_code}/email"] = "no active contact and no fallback address"
                continue
            message = build_message(sender, recipients, digest, categories, day, fallback=use_fallback)
            try:
                refused = client.send_message(message)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as error:
                # This message only; a lost connection (SMTPServerDisconnected, OSError) stops the
                # task, and its retry sends the units not recorded yet.
                log.error("digest of %s not mailed, the server refused it: %s", digest.unit_code, error)
                outcome.failed[f"{digest.unit_code}/email"] = f"refused by the SMTP server: {error}"
                continue
            if refused:
                log.warning("digest of %s: addresses refused by the server: %s", digest.unit_code, refused)
            delivered = [r for r in recipients if r not in (refused or {})]
            record_sent(conn, day, digest.unit_code, "email", delivered, digest.size)
            outcome.mailed.append(digest.unit_code)
            if use_fallback:
                outcome.to_fallback.append(digest.unit_code)
            log.info(
                "digest of %s mailed to %s (%d entries)", digest.unit_code, ", ".join(delivered), digest.size
            )


def _post(
    conn: psycopg.Connection,
    day: date,
    digests: Sequence[UnitDigest],
    categories: Sequence[Category],
    webhook: ConnectionFields | None,
    outcome: DigestOutcome,
) -> None:
    """The units' summary lines, ``WEBHOOK_LINES_PER_POST`` per POST; a POST's units are recorded
    together once it succeeded. No webhook connection: nothing posted, nothing recorded."""
    if not digests:
        return
    if webhook is None or not webhook.host:
        log.info("digest: no webhook connection tthc_alert_webhook, %d line(s) not posted", len(digests))
        return
    header = f"*Hồ sơ TTHC cần xử lý ngày {day:%d/%m/%Y} ({DIGEST_TIME:%H:%M})*"
    for part in _chunks(digests, WEBHOOK_LINES_PER_POST):
        text = "\n".join([header, *(summary_line(d, categories) for d in part)])
        try:
            posted, reason = post_webhook_text(webhook, text), "the webhook answered without a 2xx status"
        except Exception as error:  # an HTTP error, a refused connection: the next part still goes
            log.error("digest webhook POST failed: %s", error)
            posted, reason = False, f"webhook POST failed: {error}"
        if not posted:
            outcome.failed.update({f"{d.unit_code}/webhook": reason for d in part})
            continue
        for digest in part:
            record_sent(conn, day, digest.unit_code, "webhook", [], digest.size)
            outcome.posted.append(digest.unit_code)
    log.info("digest: %d summary line(s) posted to the webhook", len(outcome.posted))
