"""Test databases of any engine: a new empty one for a parametrized test, and plain queries
by URL, what a test reads back from a destination without the connector under test."""

import sqlite3
from typing import Any

import psycopg
import pymysql
import pytest

from tests.integration.mariadb import params

# Parameters of a fixture using empty_database; the marks count MariaDB's tests
# (tests/engines.py), whose server fixture is asked for only when the test needs it.
ENGINES = [
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", marks=pytest.mark.mariadb),
    pytest.param("sqlite", marks=pytest.mark.sqlite),
]

# (table, columns, referenced table, referenced columns)
Key = tuple[str, tuple[str, ...], str, tuple[str, ...]]


def empty_database(request: pytest.FixtureRequest, label: str) -> str:
    """The URL of a new empty database of the engine `request.param` names (one of ENGINES),
    dropped after the test."""
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_database")(label))
    if request.param == "mariadb":
        return str(request.getfixturevalue("mysql_database")(label))
    path = request.getfixturevalue("tmp_path") / f"{label}.db"
    sqlite3.connect(path).close()
    return f"sqlite://{path}"


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    if url.startswith("mysql"):
        with pymysql.connect(**params(url)) as conn, conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
            return conn.execute(sql).fetchall()
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def declared_keys(url: str) -> set[Key]:
    """Every foreign key the database declares on its tables (PostgreSQL: schema public)."""
    if url.startswith("mysql"):
        rows = query(
            url,
            "SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, "
            "REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
            "WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL "
            "ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
        )
    elif url.startswith("sqlite"):
        tables = [r[0] for r in query(url, "SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = [
            (table, key, column, parent, referenced)
            for table in tables
            for key, _, parent, column, referenced, *_ in query(
                url, f"PRAGMA foreign_key_list({table})"
            )
        ]
    else:
        rows = query(
            url,
            "SELECT c.conrelid::regclass::text, c.conname, a.attname, "
            "c.confrelid::regclass::text, r.attname "
            "FROM pg_constraint c, unnest(c.conkey, c.confkey) WITH ORDINALITY k(col, ref, i), "
            "pg_attribute a, pg_attribute r "
            "WHERE c.contype = 'f' AND a.attrelid = c.conrelid AND a.attnum = k.col "
            "AND r.attrelid = c.confrelid AND r.attnum = k.ref "
            "AND c.connamespace = 'public'::regnamespace ORDER BY 1, 2, k.i",
        )
    keys: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for table, name, column, parent, referenced in rows:
        keys.setdefault((str(table), str(name)), []).append(
            (str(column), str(parent), str(referenced))
        )
    return {
        (table, tuple(c for c, _, _ in cols), cols[0][1], tuple(r for _, _, r in cols))
        for (table, _), cols in keys.items()
    }


def dangling(url: str, key: Key) -> int:
    """Rows of the key's table whose values (none NULL) name no row of the referenced table."""
    table, columns, parent, referenced = key
    present = " AND ".join(f"c.{column} IS NOT NULL" for column in columns)
    joins = " AND ".join(f"p.{r} = c.{c}" for c, r in zip(columns, referenced, strict=True))
    sql = (
        f"SELECT count(*) FROM {table} c WHERE {present} "
        f"AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {joins})"
    )
    return int(query(url, sql)[0][0])
