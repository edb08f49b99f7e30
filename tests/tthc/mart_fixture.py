"""Hand-built warehouse contents for the indicator tests: a tiny unit tree, a calendar, three
procedures, and dossiers / PAKN written straight into ``core`` with every derived column set by
hand (the merge computes them in production; here each value is stated and explained)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")

PROVINCE, DEPARTMENT = "H35", "H35.S01"
DISTRICT_1, OFFICE_1, COMMUNE_A, COMMUNE_B = "H35.101", "H35.101.P01", "H35.101.0001", "H35.101.0002"
DISTRICT_2, COMMUNE_C = "H35.102", "H35.102.0003"
NEW_1, NEW_2 = "H35.X.001", "H35.X.002"

# (code, type, parent, valid_from, valid_to, successors)
UNITS = [
    (PROVINCE, "TINH", None, date(2004, 1, 1), None, []),
    (DEPARTMENT, "SO_NGANH", PROVINCE, date(2004, 1, 1), None, []),
    (DISTRICT_1, "HUYEN", PROVINCE, date(2004, 1, 1), date(2025, 6, 30), [NEW_1, NEW_2]),
    (OFFICE_1, "PHONG_HUYEN", DISTRICT_1, date(2004, 1, 1), date(2025, 6, 30), [NEW_1, NEW_2]),
    (COMMUNE_A, "XA", DISTRICT_1, date(2004, 1, 1), date(2025, 6, 30), [NEW_1]),
    (COMMUNE_B, "XA", DISTRICT_1, date(2004, 1, 1), date(2025, 6, 30), [NEW_2, NEW_1]),  # split in two
    (DISTRICT_2, "HUYEN", PROVINCE, date(2004, 1, 1), date(2025, 6, 30), [NEW_2]),
    (COMMUNE_C, "XA", DISTRICT_2, date(2004, 1, 1), date(2025, 6, 30), [NEW_2]),
    (NEW_1, "XA", PROVINCE, date(2025, 7, 1), None, []),
    (NEW_2, "XA", PROVINCE, date(2025, 7, 1), None, []),
]

P_FEE, P_FEE2, P_FREE, P_ECERT = "1.000001", "1.000002", "1.000003", "2.007652"
# (code, has_fee, has_paper_result, online_level)
PROCEDURES = [
    (P_FEE, True, True, "TOAN_TRINH"),
    (P_FEE2, True, True, "MOT_PHAN"),
    (P_FREE, False, False, "MOT_PHAN"),
    (P_ECERT, False, False, "TOAN_TRINH"),  # an electronic certified-copy procedure (configured)
]
# 2024-01-01 (Tết Dương lịch) is a holiday; weekends are off.
HOLIDAYS = {date(2024, 1, 1)}


def local(text: str) -> datetime:
    """'2024-03-04 08:00' in Vietnamese local time."""
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL)


DOSSIER_DEFAULTS = dict(
    procedure_code=P_FEE,
    channel=1,
    status=10,
    received_at=None,
    due_at=None,
    finished_at=None,
    has_digitized_component=False,
    vneid_verified=False,
    online_payment=0,
    synced_to_portal=False,
    has_apology=False,
    rating=None,
    supplement_count=0,
    supplement_pause=timedelta(0),
    open_supplement_at=None,
    has_positive_fee=False,
    has_electronic_result=False,
    has_reused_component=False,
    has_citizen_store_component=False,
    end_adjusted_at=None,
    timeliness=None,
)


def insert_reference(conn: psycopg.Connection) -> None:
    stamp = datetime(2024, 1, 15, tzinfo=LOCAL)
    for code, kind, parent, valid_from, valid_to, successors in UNITS:
        conn.execute(
            """INSERT INTO core.dim_unit (unit_code, unit_name, unit_type, parent_code, valid_from, valid_to,
                                          successor_codes, row_valid_from, batch_id)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 0)""",
            (code, f"Đơn vị {code}", kind, parent, valid_from, valid_to, successors, stamp),
        )
        for successor in successors:
            conn.execute("INSERT INTO core.unit_lineage VALUES (%s, %s, '2025-07-01')", (code, successor))
    # closure by hand: every unit with itself and each unit above it
    parents = {code: parent for code, _, parent, *_ in UNITS}
    for code in parents:
        ancestor, depth = code, 0
        while ancestor is not None:
            conn.execute("INSERT INTO core.unit_closure VALUES (%s, %s, %s)", (ancestor, code, depth))
            ancestor, depth = parents[ancestor], depth + 1
    for code, has_fee, paper, level in PROCEDURES:
        conn.execute(
            """INSERT INTO core.dim_procedure (procedure_code, procedure_name, has_fee, has_paper_result,
                                               online_level, row_valid_from, batch_id)
               VALUES (%s, %s, %s, %s, %s, %s, 0)""",
            (code, f"Thủ tục {code}", has_fee, paper, level, stamp),
        )
    day = date(2023, 1, 1)
    while day < date(2027, 1, 1):
        working = day.weekday() < 5 and day not in HOLIDAYS
        conn.execute("INSERT INTO core.dim_date VALUES (%s, %s, NULL, '-', 'test')", (day, working))
        day += timedelta(days=1)


def insert_dossier(conn: psycopg.Connection, code: str, unit: str, **fields) -> None:
    row = {**DOSSIER_DEFAULTS, **fields}
    for key in ("received_at", "due_at", "finished_at", "open_supplement_at", "end_adjusted_at"):
        if isinstance(row[key], str):
            row[key] = local(row[key])
    if row["end_adjusted_at"] is None and row["finished_at"] is not None:
        row["end_adjusted_at"] = row["finished_at"] - row["supplement_pause"]
    columns = [
        "ma_ho_so",
        "competent_unit_code",
        "receiving_unit_code",
        *row,
        "source_updated_at",
        "batch_id",
    ]
    values = [code, unit, unit, *row.values(), local("2024-06-30 12:00"), 0]
    conn.execute(
        f"INSERT INTO core.fact_dossier ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(values))})",
        values,
    )


def insert_feedback(
    conn: psycopg.Connection,
    code: str,
    unit: str,
    received: str,
    deadline: str,
    handled: str | None,
    satisfied: int | None,
    dossier: str | None = None,
) -> None:
    conn.execute(
        """INSERT INTO core.fact_feedback (ma_pakn, unit_code, ma_ho_so, kind, received_at, deadline_at,
                                           handled_at, satisfied, source_updated_at, batch_id)
           VALUES (%s, %s, %s, 'TTHC', %s, %s, %s, %s, %s, 0)""",
        (
            code,
            unit,
            dossier,
            local(received),
            local(deadline),
            local(handled) if handled else None,
            satisfied,
            local("2024-06-30 12:00"),
        ),
    )


# ---- child lists of a dossier (the worklist tests): keyed by the fact row's dossier_id ----


def _dossier_id(conn: psycopg.Connection, code: str) -> int:
    return conn.execute("SELECT dossier_id FROM core.fact_dossier WHERE ma_ho_so = %s", (code,)).fetchone()[0]


def insert_supplement(
    conn: psycopg.Connection, code: str, position: int, requested: str, answered: str | None
) -> None:
    """One supplement request of dossier ``code`` (local times; ``answered`` None: still open). The
    fact row's supplement_count / supplement_pause / open_supplement_at are set by the caller."""
    conn.execute(
        """INSERT INTO core.dossier_supplement (ma_ho_so, position, requested_at, answered_at, dossier_id)
           VALUES (%s, %s, %s, %s, %s)""",
        (code, position, local(requested), local(answered) if answered else None, _dossier_id(conn, code)),
    )


def insert_step(
    conn: psycopg.Connection, code: str, position: int, at: str, status: int, department: str
) -> None:
    """One processing step of dossier ``code`` at local time ``at``, in office ``department``."""
    conn.execute(
        """INSERT INTO core.dossier_step (ma_ho_so, position, step_at, status, department, dossier_id)
           VALUES (%s, %s, %s, %s, %s, %s)""",
        (code, position, local(at), status, department, _dossier_id(conn, code)),
    )
