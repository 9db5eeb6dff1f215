"""The privileges a role needs: SELECT on a source's tables; INSERT, UPDATE and TRUNCATE on a
destination's tables and CREATE on its schemas and database (init_schema creates them)."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import psycopg

from services.common.errors import DatabaseUnavailableError
from services.common.logging import scrub
from services.engine.connectors import open_database
from services.engine.connectors.base import Database, PrivilegeCheck
from services.engine.schema import Schema


class Role(StrEnum):
    SOURCE = "source"
    DESTINATION = "destination"


@dataclass(frozen=True)
class Privilege:
    privilege: str
    object: str  # a qualified table, a schema, or the database
    granted: bool


TABLE_PRIVILEGES = {Role.SOURCE: ("SELECT",), Role.DESTINATION: ("INSERT", "UPDATE", "TRUNCATE")}


def check_privileges(url: str, engine: str, schema: Schema, role: Role) -> list[Privilege]:
    if engine == "postgres":
        return _postgres(url, schema, role)
    return _table_checks(open_database(url), schema, role)


def _postgres(url: str, schema: Schema, role: Role) -> list[Privilege]:
    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            return _pg_checks(conn, schema, role)
    except psycopg.OperationalError as err:
        raise DatabaseUnavailableError(scrub(str(err)).strip()) from err


def _pg_checks(conn: psycopg.Connection[Any], schema: Schema, role: Role) -> list[Privilege]:
    found: list[Privilege] = []
    for table in sorted(schema.tables.values(), key=lambda t: t.qualified):
        for privilege in TABLE_PRIVILEGES[role]:
            row = conn.execute(
                "SELECT has_table_privilege(format('%%I.%%I', %s::text, %s::text), %s)",
                (table.schema, table.name, privilege),
            ).fetchone()
            found.append(Privilege(privilege, table.qualified, bool(row and row[0])))
    if role is Role.DESTINATION:
        schemas = sorted({t.schema for t in schema.tables.values()} | {schema.default_schema})
        for name in schemas:
            row = conn.execute(
                "SELECT has_schema_privilege(%s, 'CREATE') FROM pg_namespace WHERE nspname = %s",
                (name, name),
            ).fetchone()
            found.append(Privilege("CREATE", name, bool(row and row[0])))
        row = conn.execute(
            "SELECT current_database(), has_database_privilege(current_database(), 'CREATE')"
        ).fetchone()
        if row is not None:
            found.append(Privilege("CREATE", str(row[0]), bool(row[1])))
    return found


def _table_checks(database: Database, schema: Schema, role: Role) -> list[Privilege]:
    """Table privileges only, as the check a run makes before any write answers them."""
    if not isinstance(database, PrivilegeCheck):
        return []
    tables = sorted(schema.tables.values(), key=lambda t: t.qualified)
    wanted = TABLE_PRIVILEGES[role]
    missing = set(database.missing_privileges([(t.schema, t.name) for t in tables], wanted))
    return [
        Privilege(privilege, table.qualified, (privilege, table.qualified) not in missing)
        for table in tables
        for privilege in wanted
    ]
