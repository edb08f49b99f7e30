"""The source's values read in Python (tthc.staging.values) as the SQL functions of the staging
schema read them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import psycopg

from tthc import warehouse
from tthc.staging import dossier, values

# Values as they come in a record: well formed, every shape the contract allows, the simulator's
# defects, and the odd ones a source system produces.
TIMESTAMPS = [
    "20240305081500",
    "2024-03-05 08:15:00",
    "2024-03-05T08:15:00",
    "2024-03-05T08:15:00.5",
    "2024-03-05T08:15:00.123456",
    "2024-03-05T08:15:00Z",
    "2024-03-05T08:15:00+07:00",
    "2024-03-05T08:15:00-0530",
    "2024-03-05T08:15:00+07",
    "2024-03-05T01:15:00.25Z",
    "19000101000000",
    "19750101120000",
    "20240229235959",
    "20230229000000",
    "20231345000000",
    "2023-02-30 10:00:00",
    "20240305246000",
    "20240305085960",
    "31/12/2023",
    "abc",
    "",
    "   ",
    " 20240305081500",
    "2024-03-05",
    "2024-03-05T08:15:00.1234567",
    20240305081500,
    2024.5,
    None,
    True,
    [],
    {"d": 1},
]
INTEGERS = [
    "1",
    "10",
    " 7 ",
    "-1",
    "0",
    "007",
    "1.0",
    "abc",
    "",
    " ",
    "9999999999",
    "999999999",
    3,
    -2,
    0,
    1.0,
    10_000_000_000,
    True,
    False,
    None,
    [1],
    {"a": 1},
]
NUMERICS = [
    "15000",
    "-2000",
    "12.50",
    "0",
    " 5 ",
    "1e3",
    "abc",
    "",
    "12.",
    ".5",
    15000,
    -1,
    12.5,
    0,
    None,
    True,
]


def sql_reading(dsn: str, function: str, values: list) -> list:
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TIME ZONE 'Asia/Ho_Chi_Minh'")
        return [
            conn.execute(
                f"SELECT staging.{function}(%s::jsonb->>'v')", (orjson.dumps({"v": value}).decode(),)
            ).fetchone()[0]
            for value in values
        ]


def test_timestamps_read_as_the_sql_function_reads_them(dsn):
    """Python gives the instant in UTC as a naive datetime, which the staging COPY sends as a
    timestamp into timestamptz columns (dossier.COPY_TYPES): what lands is the instant SQL reads."""
    readings = [values.parse_timestamp(v) for v in TIMESTAMPS]
    in_sql = sql_reading(dsn, "parse_source_timestamp", TIMESTAMPS)
    assert [None if r is None else r.replace(tzinfo=UTC) for r in readings] == in_sql
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TIME ZONE 'Asia/Ho_Chi_Minh'")  # the wire must not depend on the session's zone
        conn.execute("CREATE TEMP TABLE landed (ordinal integer, at timestamptz)")
        warehouse.copy_rows(
            conn,
            "landed",
            ("ordinal", "at"),
            enumerate(readings),
            types=(
                "integer",
                dossier.COPY_TYPES["dossier"][dossier.LAYOUT["dossier"][0].index("received_at")],
            ),
        )
        assert [at for _, at in conn.execute("SELECT * FROM landed ORDER BY ordinal")] == in_sql
    # and the reading is not trivially NULL: the well-formed ones are instants
    assert values.parse_timestamp("2024-03-05T08:15:00+07:00") == values.parse_timestamp("20240305081500")
    assert values.parse_timestamp("20240305081500") == datetime(2024, 3, 5, 1, 15)
    assert sum(r is not None for r in readings) >= 12


def test_whole_numbers_read_as_the_sql_function_reads_them(dsn):
    assert [values.parse_int(v) for v in INTEGERS] == sql_reading(dsn, "parse_source_int", INTEGERS)


def test_amounts_read_as_the_sql_function_reads_them(dsn):
    """Python gives a whole JSON number as an int and the rest as a Decimal; the staging COPY writes
    either into the numeric column, and what lands is what SQL reads."""
    readings = [values.parse_numeric(v) for v in NUMERICS]
    in_sql = sql_reading(dsn, "parse_source_numeric", NUMERICS)
    assert readings == in_sql
    assert {type(r) for r in readings} == {int, Decimal, type(None)}
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TEMP TABLE landed (ordinal integer, amount numeric)")
        warehouse.copy_rows(
            conn,
            "landed",
            ("ordinal", "amount"),
            enumerate(readings),
            types=(
                "integer",
                dossier.COPY_TYPES["dossier_fee"][dossier.LAYOUT["dossier_fee"][0].index("amount")],
            ),
        )
        assert [amount for _, amount in conn.execute("SELECT * FROM landed ORDER BY ordinal")] == in_sql


def test_text_is_trimmed_of_spaces_and_blank_is_null(dsn):
    texts = [" H35.112 ", "", "   ", "\tx", "Nậm Nhùn", 12, None]
    assert [values.text_or_none(v) for v in texts] == sql_reading(dsn, "nullif_blank", texts)
