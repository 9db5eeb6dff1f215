"""What a PostgreSQL role may do, as the connection check reports it: privileges on tables,
CREATE on schemas and on the database."""

from collections.abc import Sequence
from typing import Any

import psycopg

from services.common.errors import DatabaseUnavailableError
from services.common.logging import scrub

# (privilege, object, granted); the object is a qualified table, a schema or the database.
Grant = tuple[str, str, bool]


def grants(
    url: str,
    tables: Sequence[tuple[str, str]],
    table_privileges: Sequence[str],
    create_schemas: Sequence[str] = (),
) -> list[Grant]:
    """Each privilege on each table, then CREATE on each of `create_schemas` and, when any is
    asked, on the database."""
    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            return _grants(conn, tables, table_privileges, create_schemas)
    except psycopg.OperationalError as err:
        raise DatabaseUnavailableError(scrub(str(err)).strip()) from err


def _grants(
    conn: psycopg.Connection[Any],
    tables: Sequence[tuple[str, str]],
    table_privileges: Sequence[str],
    create_schemas: Sequence[str],
) -> list[Grant]:
    found: list[Grant] = []
    for schema, table in tables:
        for privilege in table_privileges:
            row = conn.execute(
                "SELECT has_table_privilege(format('%%I.%%I', %s::text, %s::text), %s)",
                (schema, table, privilege),
            ).fetchone()
            found.append((privilege, f"{schema}.{table}", bool(row and row[0])))
    if create_schemas:
        for name in create_schemas:
            row = conn.execute(
                "SELECT has_schema_privilege(%s, 'CREATE') FROM pg_namespace WHERE nspname = %s",
                (name, name),
            ).fetchone()
            found.append(("CREATE", name, bool(row and row[0])))
        row = conn.execute(
            "SELECT current_database(), has_database_privilege(current_database(), 'CREATE')"
        ).fetchone()
        if row is not None:
            found.append(("CREATE", str(row[0]), bool(row[1])))
    return found
