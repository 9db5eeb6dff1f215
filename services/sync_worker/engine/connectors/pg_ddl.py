"""CREATE statements for init_schema on a PostgreSQL destination."""

import re
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg import sql

from services.sync_worker.engine.schema import Column, Table, TypeFamily

_SEQUENCE_DEFAULT = re.compile(r"^nextval\('(?P<name>[^']+)'::regclass\)$")

# Types for columns coming from another engine, by family.
_FOREIGN_TYPES = {
    TypeFamily.TEXT: "text",
    TypeFamily.INTEGER: "bigint",
    TypeFamily.NUMERIC: "numeric",
    TypeFamily.BOOLEAN: "boolean",
    TypeFamily.TEMPORAL: "text",
    TypeFamily.BINARY: "bytea",
    TypeFamily.JSON: "jsonb",
    TypeFamily.UUID: "uuid",
    TypeFamily.OTHER: "text",
}

Target = tuple[Table, tuple[str, str]]


def _column_type(column: Column, source_engine: str) -> sql.Composable:
    if source_engine == "postgres":
        return sql.SQL(column.data_type)  # format_type() output: valid SQL by construction
    if column.family == TypeFamily.TEXT and column.max_length:
        return sql.SQL(f"varchar({int(column.max_length)})")
    return sql.SQL(_FOREIGN_TYPES[column.family])


def _column_sql(column: Column, source_engine: str) -> sql.Composed:
    parts: list[sql.Composable] = [sql.Identifier(column.name), _column_type(column, source_engine)]
    if source_engine == "postgres":
        if column.identity:
            parts.append(sql.SQL(f"GENERATED {column.identity.upper()} AS IDENTITY"))
        elif column.generated:
            parts.append(
                sql.SQL("GENERATED ALWAYS AS ({}) STORED").format(sql.SQL(column.generated))
            )
        elif column.default:
            parts.append(sql.SQL("DEFAULT {}").format(sql.SQL(column.default)))
    if not column.nullable:
        parts.append(sql.SQL("NOT NULL"))
    return sql.SQL(" ").join(parts)


def _names(columns: Sequence[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(c) for c in columns)


def _prerequisites(
    conn: psycopg.Connection[Any], targets: Sequence[Target], source_engine: str
) -> list[sql.Composed]:
    """Schemas, enum types and sequences the tables' columns need."""
    statements: list[sql.Composed] = [
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
        for schema in sorted({schema for _, (schema, _) in targets})
    ]
    if source_engine != "postgres":
        return statements
    seen: set[str] = set()
    for table, _ in targets:
        for column in table.columns:
            if column.enum_labels and column.data_type not in seen:
                seen.add(column.data_type)
                row = conn.execute("SELECT to_regtype(%s)", (column.data_type,)).fetchone()
                if row is None or row[0] is None:
                    statements.append(
                        sql.SQL("CREATE TYPE {} AS ENUM ({})").format(
                            sql.SQL(column.data_type),
                            sql.SQL(", ").join(sql.Literal(v) for v in column.enum_labels),
                        )
                    )
            match = _SEQUENCE_DEFAULT.match(column.default or "")
            if match and match["name"] not in seen:
                seen.add(match["name"])
                statements.append(
                    sql.SQL("CREATE SEQUENCE IF NOT EXISTS {}").format(sql.SQL(match["name"]))
                )
    return statements


def create_table_statements(
    conn: psycopg.Connection[Any],
    targets: Sequence[Target],
    source_engine: str,
    existing: set[str],
    target_name: Callable[[str, str], tuple[str, str]],
) -> list[sql.Composed]:
    """Statements creating the target tables with keys; foreign keys last, so order is free."""
    statements = _prerequisites(conn, targets, source_engine)
    created = {f"{s}.{n}" for _, (s, n) in targets}
    foreign_keys: list[sql.Composed] = []
    for table, (schema, name) in targets:
        parts = [_column_sql(c, source_engine) for c in table.columns]
        if table.primary_key:
            parts.append(sql.SQL("PRIMARY KEY ({})").format(_names(table.primary_key)))
        parts += [sql.SQL("UNIQUE ({})").format(_names(u)) for u in table.unique]
        statements.append(
            sql.SQL("CREATE TABLE {} ({})").format(
                sql.Identifier(schema, name), sql.SQL(", ").join(parts)
            )
        )
        for column in table.columns:
            if match := _SEQUENCE_DEFAULT.match(column.default or ""):
                # Owned sequences are found by pg_get_serial_sequence when keys are reset.
                statements.append(
                    sql.SQL("ALTER SEQUENCE {} OWNED BY {}.{}").format(
                        sql.SQL(match["name"]),
                        sql.Identifier(schema, name),
                        sql.Identifier(column.name),
                    )
                )
        for fk in table.foreign_keys:
            ref_schema, ref_name = target_name(fk.ref_schema, fk.ref_table)
            if f"{ref_schema}.{ref_name}" not in created | existing:
                continue  # the referenced table is not in this destination
            foreign_keys.append(
                sql.SQL(
                    "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})"
                ).format(
                    sql.Identifier(schema, name),
                    sql.Identifier(fk.name),
                    _names(fk.columns),
                    sql.Identifier(ref_schema, ref_name),
                    _names(fk.ref_columns),
                )
            )
    return statements + foreign_keys
