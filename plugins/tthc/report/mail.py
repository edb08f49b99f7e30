"""Mail a written report, or form 06's workbooks, through the SMTP connection ``smtp_default``
(absent: nothing is sent).

The SMTP session is the one every mail of the pipeline opens (``tthc.quality.alerts.smtp_session``:
host, port, login/password, and the SMTP provider's extras ``disable_tls``, ``disable_ssl``,
``from_email``, ``timeout``), so one ``smtp_default`` serves alerts, digests and reports alike.
"""

from __future__ import annotations

import logging
import mimetypes
from email.message import EmailMessage
from pathlib import Path

from tthc.quality.alerts import mail_sender, smtp_session
from tthc.settings import SMTP_CONN_ID, ConnectionFields, get_connection

log = logging.getLogger(__name__)


BODY = "Báo cáo đính kèm (HTML và PDF). Số liệu lấy từ kho dữ liệu TTHC (schema mart)."


def build_message(
    sender: str, recipients: list[str], subject: str, paths: dict[str, Path], body: str = BODY
) -> EmailMessage:
    """Every file of ``paths`` attached; an ``html`` one is also the message's HTML part."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, ", ".join(recipients), subject
    message.set_content(body)
    if "html" in paths:
        message.add_alternative(paths["html"].read_text(encoding="utf-8"), subtype="html")
    for path in paths.values():
        maintype, subtype = (mimetypes.guess_type(path.name)[0] or "application/octet-stream").split("/")
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return message


def send_report(
    recipients: list[str],
    subject: str,
    paths: dict[str, Path],
    conn: ConnectionFields | None = None,
    *,
    body: str = BODY,
) -> bool:
    """True when sent; False when there is no ``smtp_default`` connection or no recipient."""
    recipients = [r.strip() for r in recipients if r and r.strip()]
    conn = conn or get_connection(SMTP_CONN_ID, required=False)
    if conn is None or not conn.host or not recipients:
        log.info(
            "report not mailed: %s", "no recipient" if conn and conn.host else f"no {SMTP_CONN_ID} connection"
        )
        return False
    with smtp_session(conn) as smtp:
        smtp.send_message(build_message(mail_sender(conn), recipients, subject, paths, body))
    log.info("report mailed to %s", ", ".join(recipients))
    return True
