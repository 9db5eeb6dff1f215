"""The privileges a role needs: SELECT on a source's tables; INSERT, UPDATE and TRUNCATE on a
destination's tables and CREATE on its schemas and database (init_schema creates them)."""

from dataclasses import dataclass
from enum import StrEnum

from services.engine.connectors import open_database
from services.engine.connectors.base import Database, PrivilegeCheck
from services.engine.connectors.postgres.grants import grants
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
    if engine != "postgres":
        return _table_checks(open_database(url), schema, role)
    tables = sorted(schema.tables.values(), key=lambda t: t.qualified)
    create_schemas = (
        sorted({t.schema for t in tables} | {schema.default_schema})
        if role is Role.DESTINATION
        else []
    )
    found = grants(
        url, [(t.schema, t.name) for t in tables], TABLE_PRIVILEGES[role], create_schemas
    )
    return [Privilege(*grant) for grant in found]


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
