"""The warehouse's shape as PostgreSQL's catalogue holds it, as deterministic, diff-friendly JSON.

What the schema files create in raw, staging, core, quality and mart: schemas, tables (kind,
partitioning, persistence, options, columns, constraints, indexes, triggers), sequences, views,
functions, types, comments, grants and default privileges, and the roles those grants name. The
migration ledger (meta) and the partitions a dossier batch has only while it loads
(staging.*_b<N>) are left out. Privileges are the effective ones (an ACL never set reads as
PostgreSQL's default for its owner), and the role that owns the schemas reads as "owner".

tests/tthc/warehouse_catalogue.json is this description of an empty database migrated, with the
reference rows the schema seeds; to regenerate it after a schema change::

    createdb -h 127.0.0.1 -U postgres catalogue_scratch
    python -m tthc.warehouse_catalogue --dsn "host=127.0.0.1 user=postgres dbname=catalogue_scratch" \
        --migrate --rows > tests/tthc/warehouse_catalogue.json
    dropdb -h 127.0.0.1 -U postgres catalogue_scratch
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

import psycopg

from tthc import warehouse

SCHEMAS = ("raw", "staging", "core", "quality", "mart")
OWNER = "owner"

# A dossier batch's own staging tables (tthc.staging.batch_table): they exist only while it loads.
RUNTIME_TABLE = re.compile(r"_b[0-9]+$")

RELATION_KINDS = {
    "r": "table",
    "p": "partitioned table",
    "v": "view",
    "m": "materialized view",
    "f": "foreign table",
}
PERSISTENCE = {"p": "permanent", "u": "unlogged", "t": "temporary"}
CONSTRAINT_TYPES = {
    "c": "check",
    "f": "foreign key",
    "p": "primary key",
    "u": "unique",
    "t": "trigger",
    "x": "exclusion",
}
DEFAULT_ACL_TYPES = {"r": "tables", "S": "sequences", "f": "functions", "T": "types", "n": "schemas"}


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Catalogue:
    def __init__(self, conn: psycopg.Connection, schemas: tuple[str, ...] = SCHEMAS) -> None:
        self.conn = conn
        self.schemas = list(schemas)
        row = conn.execute(
            """SELECT pg_get_userbyid(nspowner) FROM pg_namespace
                              WHERE nspname = ANY(%s) GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""",
            (self.schemas,),
        ).fetchone()
        self.owner = row[0] if row else None
        self.grantees: set[str] = set()

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.conn.execute(sql, params).fetchall()

    def role(self, name: str | None) -> str | None:
        return OWNER if name is not None and name == self.owner else name

    def acl(self, catalog: str, acl_column: str, object_type: str, owner_column: str, oid: int) -> list[str]:
        """The effective privileges of one object, one ``grantee: PRIVILEGE, ...`` line per grantee."""
        privileges: dict[str, list[str]] = {}
        for grantor, grantee, privilege, grantable in self.rows(
            f"""SELECT pg_get_userbyid(item.grantor),
                           CASE item.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(item.grantee) END,
                           item.privilege_type, item.is_grantable
                    FROM {catalog} AS obj
                    CROSS JOIN LATERAL aclexplode(coalesce(obj.{acl_column},
                                                           acldefault('{object_type}', obj.{owner_column}))) AS item
                    WHERE obj.oid = %s""",
            (oid,),
        ):
            if grantee not in ("PUBLIC", self.owner):
                self.grantees.add(grantee)
            if grantable:
                privilege += " WITH GRANT OPTION"
            if self.role(grantor) != OWNER:
                privilege += f" (granted by {grantor})"
            privileges.setdefault(self.role(grantee), []).append(privilege)
        return sorted(f"{grantee}: {', '.join(sorted(granted))}" for grantee, granted in privileges.items())

    def owner_of(self, name: str) -> dict[str, str]:
        """The owner, when it is not the role that owns the schemas."""
        return {} if name == self.owner else {"owner": name}

    def describe(self, *, with_rows: bool = False) -> dict[str, Any]:
        description = {
            # The server's major version: how it renders view and function definitions changes with it.
            "server_version": int(self.rows("SHOW server_version_num")[0][0]) // 10000,
            "schemas": self.schema_entries(),
            "default_privileges": self.default_privileges(),
            "relations": self.relations(),
            "sequences": self.sequences(),
            "functions": self.functions(),
            "types": self.types(),
            "extensions": [
                row[0]
                for row in self.rows("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1")
            ],
        }
        description["roles"] = self.roles()  # last: the grants above name them
        if with_rows:
            description["rows"] = self.table_rows(description["relations"])
        return description

    def schema_entries(self) -> dict[str, Any]:
        entries = {}
        for oid, name, owner, comment in self.rows(
            """SELECT oid, nspname, pg_get_userbyid(nspowner), obj_description(oid, 'pg_namespace')
                   FROM pg_namespace WHERE nspname = ANY(%s) ORDER BY nspname""",
            (self.schemas,),
        ):
            entries[name] = {
                **self.owner_of(owner),
                "acl": self.acl("pg_namespace", "nspacl", "n", "nspowner", oid),
                **({"comment": comment} if comment else {}),
            }
        return entries

    def default_privileges(self) -> list[dict[str, Any]]:
        entries = []
        for oid, role, schema, object_type in self.rows(
            """SELECT d.oid, pg_get_userbyid(d.defaclrole), ns.nspname, d.defaclobjtype::text
                   FROM pg_default_acl AS d LEFT JOIN pg_namespace AS ns ON ns.oid = d.defaclnamespace
                   WHERE ns.nspname = ANY(%s) OR d.defaclnamespace = 0
                   ORDER BY 3, 2, 4""",
            (self.schemas,),
        ):
            # A schema's default ACL is what it adds to the global default (not a whole ACL).
            acl = self.acl("pg_default_acl", "defaclacl", "r", "defaclrole", oid)
            entries.append(
                {
                    "role": self.role(role),
                    "schema": schema,
                    "object_type": DEFAULT_ACL_TYPES.get(object_type, object_type),
                    "acl": acl,
                }
            )
        return sorted(
            entries, key=lambda entry: (str(entry["schema"]), str(entry["role"]), entry["object_type"])
        )

    def relations(self) -> dict[str, Any]:
        relations = {}
        for (
            oid,
            schema,
            name,
            kind,
            persistence,
            options,
            owner,
            comment,
            partition_key,
            parent,
            bound,
            view_definition,
        ) in self.rows(
            """SELECT rel.oid, ns.nspname, rel.relname, rel.relkind::text, rel.relpersistence::text,
                          rel.reloptions, pg_get_userbyid(rel.relowner), obj_description(rel.oid, 'pg_class'),
                          CASE WHEN rel.relkind = 'p' THEN pg_get_partkeydef(rel.oid) END,
                          (SELECT inhparent::regclass::text FROM pg_inherits WHERE inhrelid = rel.oid),
                          pg_get_expr(rel.relpartbound, rel.oid),
                          CASE WHEN rel.relkind IN ('v', 'm') THEN pg_get_viewdef(rel.oid) END
                   FROM pg_class AS rel JOIN pg_namespace AS ns ON ns.oid = rel.relnamespace
                   WHERE ns.nspname = ANY(%s) AND rel.relkind IN ('r', 'p', 'v', 'm', 'f')
                   ORDER BY 2, 3""",
            (self.schemas,),
        ):
            if schema == "staging" and RUNTIME_TABLE.search(name):
                continue
            entry: dict[str, Any] = {"kind": RELATION_KINDS[kind], "persistence": PERSISTENCE[persistence]}
            entry.update(self.owner_of(owner))
            if options:
                entry["options"] = sorted(options)
            if partition_key:
                entry["partition_key"] = partition_key
            if parent:
                entry["partition_of"] = parent
                entry["partition_bound"] = bound
            if comment:
                entry["comment"] = comment
            if view_definition is not None:
                entry["definition"] = view_definition.splitlines()
            entry["columns"] = self.columns(oid)
            for part, read in (
                ("constraints", self.constraints),
                ("indexes", self.indexes),
                ("triggers", self.triggers),
            ):
                if found := read(oid):
                    entry[part] = found
            entry["acl"] = self.acl("pg_class", "relacl", "r", "relowner", oid)
            relations[f"{schema}.{name}"] = entry
        return relations

    def columns(self, relation: int) -> list[str]:
        """One line per column, in table order, in the words of CREATE TABLE (and of the ALTER
        TABLE settings a column can have: statistics target, compression)."""
        columns = []
        for (
            name,
            data_type,
            not_null,
            default,
            identity,
            generated,
            collation,
            statistics,
            compression,
            comment,
        ) in self.rows(
            """SELECT att.attname, format_type(att.atttypid, att.atttypmod), att.attnotnull,
                          pg_get_expr(def.adbin, def.adrelid), att.attidentity::text, att.attgenerated::text,
                          CASE WHEN att.attcollation <> typ.typcollation THEN coll.collname END,
                          nullif(att.attstattarget, -1), att.attcompression::text,
                          col_description(att.attrelid, att.attnum)
                   FROM pg_attribute AS att
                   JOIN pg_type AS typ ON typ.oid = att.atttypid
                   LEFT JOIN pg_attrdef AS def ON def.adrelid = att.attrelid AND def.adnum = att.attnum
                   LEFT JOIN pg_collation AS coll ON coll.oid = att.attcollation
                   WHERE att.attrelid = %s AND att.attnum > 0 AND NOT att.attisdropped
                   ORDER BY att.attnum""",
            (relation,),
        ):
            words = [name, data_type]
            if collation:
                words.append(f"COLLATE {collation}")
            if not_null:
                words.append("NOT NULL")
            if generated:
                words.append(f"GENERATED ALWAYS AS ({default}) STORED")
            elif default is not None:
                words.append(f"DEFAULT {default}")
            if identity:
                words.append(f"GENERATED {'ALWAYS' if identity == 'a' else 'BY DEFAULT'} AS IDENTITY")
            if statistics is not None:
                words.append(f"STATISTICS {statistics}")
            if compression:
                words.append(f"COMPRESSION {({'p': 'pglz', 'l': 'lz4'}).get(compression, compression)}")
            if comment:
                words.append(f"COMMENT {quoted(comment)}")
            columns.append(" ".join(words))
        return columns

    def constraints(self, relation: int) -> dict[str, str]:
        constraints = {}
        for name, definition, deferrable, deferred, validated, local, comment in self.rows(
            """SELECT conname, pg_get_constraintdef(oid), condeferrable, condeferred, convalidated,
                          conislocal, obj_description(oid, 'pg_constraint')
                   FROM pg_constraint WHERE conrelid = %s AND contype <> 'n' ORDER BY conname""",
            (relation,),
        ):
            words = [definition]
            if deferrable and "DEFERRABLE" not in definition:
                words.append("DEFERRABLE INITIALLY " + ("DEFERRED" if deferred else "IMMEDIATE"))
            if not validated and "NOT VALID" not in definition:
                words.append("NOT VALID")
            if not local:
                words.append("(inherited)")
            if comment:
                words.append(f"COMMENT {quoted(comment)}")
            constraints[name] = " ".join(words)
        return constraints

    def indexes(self, relation: int) -> dict[str, str]:
        """Every index, those of primary keys and unique constraints included."""
        indexes = {}
        for name, definition, valid, comment in self.rows(
            """SELECT idx.relname, pg_get_indexdef(ix.indexrelid), ix.indisvalid,
                          obj_description(ix.indexrelid, 'pg_class')
                   FROM pg_index AS ix JOIN pg_class AS idx ON idx.oid = ix.indexrelid
                   WHERE ix.indrelid = %s ORDER BY idx.relname""",
            (relation,),
        ):
            words = [definition]
            if not valid:
                words.append("(INVALID)")
            if comment:
                words.append(f"COMMENT {quoted(comment)}")
            indexes[name] = " ".join(words)
        return indexes

    def triggers(self, relation: int) -> dict[str, str]:
        return dict(
            self.rows(
                """SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger
               WHERE tgrelid = %s AND NOT tgisinternal ORDER BY tgname""",
                (relation,),
            )
        )

    def sequences(self) -> dict[str, Any]:
        sequences = {}
        for (
            oid,
            schema,
            name,
            data_type,
            start,
            increment,
            minimum,
            maximum,
            cache,
            cycle,
            owner,
            owned_by,
            dependency,
        ) in self.rows(
            """SELECT rel.oid, ns.nspname, rel.relname, format_type(seq.seqtypid, NULL), seq.seqstart,
                          seq.seqincrement, seq.seqmin, seq.seqmax, seq.seqcache, seq.seqcycle,
                          pg_get_userbyid(rel.relowner),
                          (SELECT dep.refobjid::regclass::text || '.' || att.attname
                           FROM pg_depend AS dep
                           JOIN pg_attribute AS att ON att.attrelid = dep.refobjid AND att.attnum = dep.refobjsubid
                           WHERE dep.classid = 'pg_class'::regclass AND dep.objid = rel.oid
                             AND dep.refclassid = 'pg_class'::regclass AND dep.deptype IN ('a', 'i')),
                          (SELECT dep.deptype::text FROM pg_depend AS dep
                           WHERE dep.classid = 'pg_class'::regclass AND dep.objid = rel.oid
                             AND dep.refclassid = 'pg_class'::regclass AND dep.deptype IN ('a', 'i'))
                   FROM pg_class AS rel
                   JOIN pg_namespace AS ns ON ns.oid = rel.relnamespace
                   JOIN pg_sequence AS seq ON seq.seqrelid = rel.oid
                   WHERE ns.nspname = ANY(%s) ORDER BY 2, 3""",
            (self.schemas,),
        ):
            entry: dict[str, Any] = {
                "definition": f"AS {data_type} START {start} INCREMENT {increment} MINVALUE {minimum} "
                f"MAXVALUE {maximum} CACHE {cache}{' CYCLE' if cycle else ''}",
                **self.owner_of(owner),
            }
            if owned_by:
                entry["identity_of" if dependency == "i" else "owned_by"] = owned_by
            entry["acl"] = self.acl("pg_class", "relacl", "s", "relowner", oid)
            sequences[f"{schema}.{name}"] = entry
        return sequences

    def functions(self) -> dict[str, Any]:
        functions = {}
        for oid, schema, name, arguments, kind, definition, owner, comment in self.rows(
            """SELECT proc.oid, ns.nspname, proc.proname, pg_get_function_identity_arguments(proc.oid),
                          proc.prokind::text,
                          CASE WHEN proc.prokind IN ('f', 'p') THEN pg_get_functiondef(proc.oid) END,
                          pg_get_userbyid(proc.proowner), obj_description(proc.oid, 'pg_proc')
                   FROM pg_proc AS proc JOIN pg_namespace AS ns ON ns.oid = proc.pronamespace
                   WHERE ns.nspname = ANY(%s)
                     AND NOT EXISTS (SELECT 1 FROM pg_depend AS dep
                                     WHERE dep.classid = 'pg_proc'::regclass AND dep.objid = proc.oid
                                       AND dep.deptype = 'e')
                   ORDER BY 2, 3, 4""",
            (self.schemas,),
        ):
            entry: dict[str, Any] = {
                "kind": {"f": "function", "p": "procedure", "a": "aggregate", "w": "window"}[kind],
                **self.owner_of(owner),
            }
            if definition is not None:
                entry["definition"] = definition.splitlines()
            if comment:
                entry["comment"] = comment
            entry["acl"] = self.acl("pg_proc", "proacl", "f", "proowner", oid)
            functions[f"{schema}.{name}({arguments})"] = entry
        return functions

    def types(self) -> dict[str, Any]:
        """Types of their own (enums, domains, composites, ranges), not the row types of tables."""
        types = {}
        for oid, schema, name, kind, base, not_null, default, labels, comment in self.rows(
            """SELECT typ.oid, ns.nspname, typ.typname, typ.typtype::text,
                          CASE WHEN typ.typtype = 'd' THEN format_type(typ.typbasetype, typ.typtypmod) END,
                          typ.typnotnull, typ.typdefault,
                          (SELECT array_agg(enumlabel::text ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = typ.oid),
                          obj_description(typ.oid, 'pg_type')
                   FROM pg_type AS typ JOIN pg_namespace AS ns ON ns.oid = typ.typnamespace
                   WHERE ns.nspname = ANY(%s) AND typ.typtype IN ('c', 'd', 'e', 'r', 'm')
                     AND (typ.typtype <> 'c'
                          OR (SELECT relkind FROM pg_class WHERE oid = typ.typrelid) = 'c')
                   ORDER BY 2, 3""",
            (self.schemas,),
        ):
            entry: dict[str, Any] = {
                "kind": {"c": "composite", "d": "domain", "e": "enum", "r": "range", "m": "multirange"}[kind]
            }
            if base:
                entry.update(base=base, not_null=not_null, default=default)
                entry["constraints"] = dict(
                    self.rows(
                        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contypid = %s ORDER BY 1",
                        (oid,),
                    )
                )
            if labels:
                entry["labels"] = labels
            if comment:
                entry["comment"] = comment
            types[f"{schema}.{name}"] = entry
        return types

    def roles(self) -> dict[str, Any]:
        """The roles the grants name: what could widen their reach (attributes, memberships).
        LOGIN and passwords are the deployment's and are left out."""
        roles = {}
        for name, superuser, create_role, create_db, replication, bypass_rls, member_of, members in self.rows(
            """SELECT role.rolname, role.rolsuper, role.rolcreaterole, role.rolcreatedb, role.rolreplication,
                          role.rolbypassrls,
                          ARRAY(SELECT pg_get_userbyid(m.roleid) FROM pg_auth_members AS m
                                WHERE m.member = role.oid ORDER BY 1),
                          ARRAY(SELECT pg_get_userbyid(m.member) FROM pg_auth_members AS m
                                WHERE m.roleid = role.oid ORDER BY 1)
                   FROM pg_roles AS role WHERE role.rolname = ANY(%s) ORDER BY 1""",
            (sorted(self.grantees),),
        ):
            roles[name] = {
                "superuser": superuser,
                "create_role": create_role,
                "create_db": create_db,
                "replication": replication,
                "bypass_rls": bypass_rls,
                "member_of": sorted(member_of),
                "members": sorted(members),
            }
        return roles

    def table_rows(self, relations: dict[str, Any]) -> dict[str, list[str]]:
        """Every row of every table, as JSON text in column order, sorted: meant for a warehouse
        just migrated, where the only rows are the reference data the schema seeds."""
        contents = {}
        for name, entry in relations.items():
            if entry["kind"] not in ("table", "partitioned table") or "partition_of" in entry:
                continue
            schema, table = name.split(".")
            rows = sorted(
                row[0]
                for row in self.rows(
                    psycopg.sql.SQL("SELECT row_to_json(t)::text FROM {} AS t").format(
                        psycopg.sql.Identifier(schema, table)
                    )
                )
            )
            if rows:
                contents[name] = rows
        return contents


def describe(
    conn: psycopg.Connection, *, with_rows: bool = False, schemas: tuple[str, ...] = SCHEMAS
) -> dict[str, Any]:
    """The catalogue of ``schemas`` as plain JSON-ready values."""
    return Catalogue(conn, schemas).describe(with_rows=with_rows)


def to_json(description: dict[str, Any]) -> str:
    return json.dumps(description, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tthc.warehouse_catalogue", description="Print the warehouse's catalogue as JSON."
    )
    parser.add_argument("--dsn", help="libpq connection string (default: the tthc_warehouse connection)")
    parser.add_argument(
        "--rows",
        action="store_true",
        help="also every table's rows (for a database just migrated: the seeded reference data)",
    )
    parser.add_argument("--migrate", action="store_true", help="migrate the database first")
    args = parser.parse_args(argv)
    dsn = args.dsn or warehouse.warehouse_conninfo()
    if args.migrate:
        with warehouse.connect(dsn=dsn) as conn:
            warehouse.migrate(conn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        sys.stdout.write(to_json(describe(conn, with_rows=args.rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
