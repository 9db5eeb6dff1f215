"""CREATE statements for init_schema on a MySQL/MariaDB destination."""

import re
from collections.abc import Sequence

from services.engine.connectors.mysql.types import mysql_column_type
from services.engine.schema import Column, ForeignKey, Table

Target = tuple[Table, tuple[str, str]]

# PostgreSQL defaults that mean the same in MySQL: plain literals (casts dropped) and now().
_PG_LITERAL = re.compile(r"^(?P<value>'(?:[^']|'')*'|-?\d+(?:\.\d+)?|true|false)(?:::[\w .\"]+)?$")
_PG_NOW = ("now()", "current_timestamp", "clock_timestamp()", "statement_timestamp()")


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def names(columns: Sequence[str]) -> str:
    return ", ".join(map(quote, columns))


def _default(column: Column, source_engine: str, column_type: str) -> str | None:
    if column.default is None:
        return None
    if source_engine == "mysql":
        return column.default
    if source_engine != "postgres":
        return None  # SQLite's defaults are not reliably MySQL syntax: left to the source
    default = column.default.strip()
    if default.lower() in _PG_NOW and column_type.upper().startswith("DATETIME"):
        return "CURRENT_TIMESTAMP(6)" if "(6)" in column_type else "CURRENT_TIMESTAMP"
    match = _PG_LITERAL.match(default)
    if match is None or column_type.upper().endswith(("TEXT", "BLOB", "JSON")):
        return None  # an expression with no MySQL spelling, or a type that refuses literals
    value = match["value"]
    return {"true": "1", "false": "0"}.get(value, value)


def _auto_increment(column: Column, source_engine: str) -> bool:
    """Identity columns, and PostgreSQL serials (a sequence default) too."""
    serial = source_engine == "postgres" and (column.default or "").startswith("nextval(")
    return column.identity is not None or serial


def _column_sql(column: Column, source_engine: str, keys: set[str]) -> str:
    column_type = mysql_column_type(column, source_engine, column.name in keys)
    parts = [quote(column.name), column_type]
    if column.generated:
        # Copied verbatim: simple arithmetic reads the same in both dialects; anything else
        # is refused by the server when the table is created, naming the expression.
        expression = re.sub(r"::[\w .\"]+", "", column.generated)
        parts.append(f"AS ({expression}) STORED")
    elif _auto_increment(column, source_engine) and column.name in keys:
        parts.append("AUTO_INCREMENT")  # MySQL allows it on a key column only
    if not column.nullable and not column.generated:
        parts.append("NOT NULL")
    default = _default(column, source_engine, column_type)
    if default is not None and not column.generated and not _auto_increment(column, source_engine):
        parts.append(f"DEFAULT {default}")
    return " ".join(parts)


def create_table_statements(targets: Sequence[Target], source_engine: str) -> list[str]:
    """Statements creating the target tables with keys; their foreign keys come after the
    data (foreign_key_statements). Every column's type is chosen before any statement is
    returned, so a type that cannot be mapped fails before anything is created."""
    tables: list[str] = []
    for table, (schema, name) in targets:
        keys = {c for key in (table.primary_key, *table.unique) for c in key}
        parts = [_column_sql(c, source_engine, keys) for c in table.columns]
        if table.primary_key:
            parts.append(f"PRIMARY KEY ({names(table.primary_key)})")
        parts += [f"UNIQUE ({names(u)})" for u in table.unique]
        tables.append(
            f"CREATE TABLE {quote(schema)}.{quote(name)} ({', '.join(parts)}) "
            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        )
    return tables


def foreign_key_statements(keys: Sequence[tuple[tuple[str, str], ForeignKey]]) -> list[str]:
    """A constraint for each (schema and table, foreign key); MySQL names are at most 64
    characters."""
    return [
        f"ALTER TABLE {quote(schema)}.{quote(table)} ADD CONSTRAINT {quote(fk.name[:64])} "
        f"FOREIGN KEY ({names(fk.columns)}) "
        f"REFERENCES {quote(fk.ref_schema)}.{quote(fk.ref_table)} ({names(fk.ref_columns)})"
        for (schema, table), fk in keys
    ]
