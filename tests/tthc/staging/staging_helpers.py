"""What the staging tests read back from the warehouse."""

from __future__ import annotations

import psycopg

from tthc.staging import dossier

STAGING_TABLES = tuple(dossier.LAYOUT)


def batch_partitions(dsn: str, batch_id: int) -> dict[str, bool]:
    """The batch's staging tables that exist -> whether each is attached to its parent."""
    with psycopg.connect(dsn) as conn:
        return {
            table: attached
            for table, attached in conn.execute(
                """SELECT parent, EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(name))
               FROM unnest(%s::text[]) AS parent, format('staging.%%I', staging.dossier_partition(parent, %s)) AS name
               WHERE to_regclass(name) IS NOT NULL""",
                (list(STAGING_TABLES), batch_id),
            ).fetchall()
        }
