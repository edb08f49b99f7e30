"""Digests of a warehouse's contents, to show that a change of shape left the results alone.

    python -m bench.digest --dsn "dbname=tthc"                      # one line per table
    python -m bench.digest --dsn "dbname=tthc" --compare "dbname=tthc_before"

Each table of ``core``, ``quality`` and ``mart`` is digested as the md5 of its rows' text, sorted,
so that two warehouses filled by the same run agree whatever order their rows were written in.
What a run cannot reproduce is left out: the instants a row was written at (columns whose
default is ``now()``, and the bookkeeping instants below), surrogate keys handed out by
sequences (identity columns, ``nextval`` defaults, and the columns that hold them elsewhere),
Great Expectations' own result documents (run ids and times), and the batch rules' evidence,
which depends on the order overlapping loads finished in. Everything else must be equal: two demo
runs of the same code give the same digests.
"""

from __future__ import annotations

import argparse
import sys

import psycopg

SCHEMAS = ("core", "quality", "mart")

# Columns written with now() by an UPDATE, or holding a sequence's value, that no default tells.
BOOKKEEPING_COLUMNS = {
    "batch_id",
    "resolved_batch_id",
    "retry_batch_id",
    "source_batch_id",
    "dossier_id",
    "unit_version_id",
    "procedure_version_id",
    "validation_id",
    "quarantine_id",
    "warning_id",
    "resolved_at",
    "loaded_at",
    "row_valid_from",
    "row_valid_to",
    "results",
    "refreshed_at",
    "first_seen_at",
    "last_seen_at",
    "sent_at",
    "checked_at",
    "alerted_at",
    "data_docs_url",
}


# Evidence that depends on the order in which overlapping loads finished: a batch rule compares a
# batch with the batches loaded before it, and which those were varies from run to run. Whether
# each rule passed does not (a rule without enough history is skipped, and passes).
ORDER_DEPENDENT_COLUMNS = {"quality.batch_rule_result": {"skipped", "detail", "observed"}}


def digested_columns(conn: psycopg.Connection) -> dict[str, list[str]]:
    """table -> the columns its digest covers, for every base table of the digested schemas."""
    rows = conn.execute(
        """SELECT format('%%I.%%I', c.table_schema, c.table_name), c.column_name,
                  c.is_identity = 'YES' OR coalesce(c.column_default, '') ~ '(now\\(\\)|nextval|CURRENT_TIMESTAMP)'
           FROM information_schema.columns AS c
           JOIN information_schema.tables AS t USING (table_schema, table_name)
           WHERE c.table_schema = ANY(%s) AND t.table_type = 'BASE TABLE'
           ORDER BY 1, c.ordinal_position""",
        (list(SCHEMAS),),
    ).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column, volatile in rows:
        columns = tables.setdefault(table, [])
        if not volatile and column not in BOOKKEEPING_COLUMNS | ORDER_DEPENDENT_COLUMNS.get(table, set()):
            columns.append(column)
    return tables


def digest(dsn: str) -> dict[str, tuple[int, str]]:
    """table -> (row count, md5 of the sorted rows' text)."""
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TIME ZONE 'Asia/Ho_Chi_Minh'")
        result = {}
        for table, columns in digested_columns(conn).items():
            row_text = (
                "ROW(" + ", ".join(psycopg.sql.Identifier(c).as_string(conn) for c in columns) + ")::text"
            )
            count, md5 = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(row_text, E'\\n' ORDER BY row_text COLLATE \"C\"), '')) "
                f"FROM (SELECT {row_text} AS row_text FROM {table}) AS rows"
            ).fetchone()
            result[table] = (count, md5)
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.digest")
    parser.add_argument("--dsn", required=True, help="libpq DSN of the warehouse to digest")
    parser.add_argument(
        "--compare", help="libpq DSN of a second warehouse: exit 1 unless every digest agrees"
    )
    args = parser.parse_args(argv)
    mine = digest(args.dsn)
    theirs = digest(args.compare) if args.compare else None
    differing = 0
    for table in sorted(set(mine) | set(theirs or {})):
        count, md5 = mine.get(table, (None, "missing"))
        line = f"{table:<40} {count if count is not None else '-':>10} {md5}"
        if theirs is not None:
            other = theirs.get(table, (None, "missing"))
            same = other == (count, md5)
            differing += not same
            line += "  same" if same else f"  DIFFERS (other: {other[0]} rows, {other[1]})"
        print(line)
    if theirs is not None:
        print(f"\n{len(mine)} tables, {differing} differing")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
