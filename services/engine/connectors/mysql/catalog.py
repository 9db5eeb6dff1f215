"""Reads a MySQL/MariaDB information_schema into the engine's schema model."""

import re
from typing import Any

from services.engine.connectors.mysql.types import family
from services.engine.schema import Column, ForeignKey, Table, TypeFamily

_TABLES = """
SELECT TABLE_NAME, COALESCE(TABLE_ROWS, 0) FROM information_schema.TABLES
WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME
"""

_COLUMNS = """
SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE = 'YES', COLUMN_DEFAULT, EXTRA,
       GENERATION_EXPRESSION, CHARACTER_MAXIMUM_LENGTH, DATA_TYPE
FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s
ORDER BY TABLE_NAME, ORDINAL_POSITION
"""

_KEYS = """
SELECT k.TABLE_NAME, c.CONSTRAINT_TYPE, k.CONSTRAINT_NAME, k.COLUMN_NAME,
       k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME
FROM information_schema.TABLE_CONSTRAINTS c
JOIN information_schema.KEY_COLUMN_USAGE k
  ON k.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA AND k.CONSTRAINT_NAME = c.CONSTRAINT_NAME
 AND k.TABLE_NAME = c.TABLE_NAME
WHERE c.TABLE_SCHEMA = %s AND c.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')
ORDER BY k.TABLE_NAME, c.CONSTRAINT_TYPE, k.CONSTRAINT_NAME, k.ORDINAL_POSITION
"""

# MariaDB's JSON is LONGTEXT with a json_valid() check named after the column.
_JSON_CHECKS = """
SELECT TABLE_NAME, CONSTRAINT_NAME FROM information_schema.CHECK_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = %s AND CHECK_CLAUSE LIKE 'json\\_valid(%%'
"""

_LABEL = re.compile(r"'((?:[^'\\]|''|\\.)*)'")


def _labels(column_type: str) -> tuple[str, ...]:
    if not column_type.lower().startswith("enum("):
        return ()
    return tuple(m.replace("''", "'") for m in _LABEL.findall(column_type))


def _default(raw: str | None, extra: str, mariadb: bool) -> str | None:
    """The default as an SQL expression. MariaDB already reports one (with NULL as the word
    NULL); MySQL reports literals bare and marks expressions DEFAULT_GENERATED."""
    if raw is None or (mariadb and raw == "NULL"):
        return None
    if mariadb or "DEFAULT_GENERATED" in extra.upper():
        return raw if mariadb or raw.upper().startswith("CURRENT_TIMESTAMP") else f"({raw})"
    return "'" + raw.replace("\\", "\\\\").replace("'", "''") + "'"


def introspect(conn: Any, database: str, mariadb: bool) -> dict[str, Table]:
    """Tables of one database (views left out) with columns, keys and foreign keys."""
    with conn.cursor() as cur:
        cur.execute(_TABLES, (database,))
        tables = {name: int(rows) for name, rows in cur.fetchall()}
        json_columns: set[tuple[str, str]] = set()
        if mariadb:
            cur.execute(_JSON_CHECKS, (database,))
            json_columns = {(t, c) for t, c in cur.fetchall()}
        cur.execute(_COLUMNS, (database,))
        columns: dict[str, list[Column]] = {name: [] for name in tables}
        for table, name, ctype, nullable, default, extra, expression, length, dtype in cur:
            if table not in columns:
                continue  # a view's column
            is_json = (table, name) in json_columns
            generated = expression or None
            columns[table].append(
                Column(
                    name=name,
                    data_type="json" if is_json else ctype,
                    family=TypeFamily.JSON if is_json else family(ctype),
                    nullable=bool(nullable),
                    default=None if generated else _default(default, extra or "", mariadb),
                    max_length=int(length) if dtype in ("char", "varchar") and length else None,
                    generated=generated,
                    identity="by default" if "auto_increment" in (extra or "") else None,
                    enum_labels=_labels(ctype),
                )
            )
        cur.execute(_KEYS, (database,))
        keys = cur.fetchall()
    primary: dict[str, list[str]] = {}
    unique: dict[str, dict[str, list[str]]] = {}
    foreign: dict[str, dict[str, list[tuple[str, str, str, str]]]] = {}
    for table, kind, name, column, ref_schema, ref_table, ref_column in keys:
        if table not in tables:
            continue
        if kind == "PRIMARY KEY":
            primary.setdefault(table, []).append(column)
        elif kind == "UNIQUE":
            unique.setdefault(table, {}).setdefault(name, []).append(column)
        else:
            foreign.setdefault(table, {}).setdefault(name, []).append(
                (column, ref_schema, ref_table, ref_column)
            )
    result = {}
    for name, estimate in tables.items():
        table = Table(
            schema=database,
            name=name,
            columns=tuple(columns[name]),
            primary_key=tuple(primary.get(name, ())),
            unique=tuple(tuple(cols) for cols in unique.get(name, {}).values()),
            foreign_keys=tuple(
                ForeignKey(
                    name=fk,
                    columns=tuple(r[0] for r in refs),
                    ref_schema=refs[0][1],
                    ref_table=refs[0][2],
                    ref_columns=tuple(r[3] for r in refs),
                )
                for fk, refs in foreign.get(name, {}).items()
            ),
            estimated_rows=estimate,
        )
        result[table.qualified] = table
    return result
