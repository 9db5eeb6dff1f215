"""Database.dangling on PostgreSQL, MariaDB and SQLite: the rows a run's verification counts
for a reference, with composite keys, NULLs (MATCH SIMPLE) and names that need quoting."""

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pymysql

from services.engine.connectors import open_database
from services.engine.connectors.base import Reference
from tests.integration.mariadb import params

PARENT, CHILD = 'par"ent t', "child;--"
KEY = ("a b", 'c"d')  # the composite key's columns, in both tables
PARENTS = [(1, 1), (1, 2)]
CHILDREN = [
    (1, 1, 1),  # holds
    (2, 1, 3),  # dangles
    (3, None, 5),  # a NULL column: never counted
    (4, 2, None),
    (5, 2, 2),  # dangles
    (6, None, None),
]


def _ansi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _backticks(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _load(cursor: Any, quote: Callable[[str], str], mark: str = "%s") -> None:
    """Both tables, through a DB-API cursor, with no foreign-key constraint: only the count
    knows what dangles."""
    a, c = map(quote, KEY)
    cursor.execute(f"CREATE TABLE {quote(PARENT)} ({a} int, {c} int, PRIMARY KEY ({a}, {c}))")
    cursor.execute(f"CREATE TABLE {quote(CHILD)} (id int PRIMARY KEY, {a} int, {c} int)")
    cursor.executemany(f"INSERT INTO {quote(PARENT)} VALUES ({mark}, {mark})", PARENTS)
    cursor.executemany(f"INSERT INTO {quote(CHILD)} VALUES ({mark}, {mark}, {mark})", CHILDREN)


def _check(url: str) -> None:
    database = open_database(url)
    schema = database.default_schema
    child, parent = database.target_name(schema, CHILD), database.target_name(schema, PARENT)

    assert database.dangling(*child, Reference(KEY, parent, KEY)) == 2
    # One column of the key alone: (2, NULL) and (2, 2) name no parent whose first column is 2.
    assert database.dangling(*child, Reference(KEY[:1], parent, KEY[:1])) == 2
    assert database.dangling(*parent, Reference(KEY, parent, KEY)) == 0


def test_dangling_rows_on_postgres(pg_database: Callable[[str], str]) -> None:
    url = pg_database("dangling")
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        _load(cur, _ansi)
    _check(url)


def test_dangling_rows_on_mariadb(mysql_database: Callable[[str], str]) -> None:
    url = mysql_database("dangling")
    with pymysql.connect(**params(url), autocommit=True) as conn, conn.cursor() as cur:
        _load(cur, _backticks)
    _check(url)


def test_dangling_rows_on_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "dangling.db"
    with sqlite3.connect(path) as conn:
        _load(conn.cursor(), _ansi, "?")
    _check(f"sqlite://{path}")
