"""Every function the where-clause allowlist names for an engine, and every clause the unit
tests accept, runs on that engine as the subset writes it back: PostgreSQL, MariaDB, SQLite."""

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pymysql
import pytest

from services.engine.planning.where_allowlist import allowed_functions
from services.engine.planning.where_clause import DIALECTS, parse_where
from tests.integration.mariadb import params
from tests.unit.test_where_clause import ACCEPTED, ACCEPTED_IN, CUSTOMERS

CREATE = (
    "CREATE TABLE customers (id bigint PRIMARY KEY, email varchar(120) NOT NULL, "
    "name varchar(120), flags integer, created_at {timestamp} NOT NULL)"
)
INSERT = (
    "INSERT INTO customers VALUES (1, 'ab@example.com', 'Ann', 4, '2005-05-01 10:00:00'), "
    "(2, 'bob@example.org', NULL, NULL, '2024-01-31 23:59:59')"
)

# A clause calling each allowed function, by the name users write.
SAMPLES = {
    "case": "CASE WHEN id > 1 THEN 1 ELSE 0 END = 1",
    "if": "IF(id > 1, 1, 0) = 1",
    "iif": "IIF(id > 1, 1, 0) = 1",
    "coalesce": "coalesce(name, 'x') = 'x'",
    "ifnull": "ifnull(name, 'x') = 'x'",
    "nullif": "nullif(name, 'x') IS NULL",
    "greatest": "greatest(id, 2) = 2",
    "least": "least(id, 2) = 1",
    "cast": "CAST(id AS VARCHAR(10)) = '1'",
    "lower": "lower(name) = 'ann'",
    "upper": "upper(name) = 'ANN'",
    "length": "length(email) > 1",
    "char_length": "char_length(email) > 1",
    "substring": "substring(email, 1, 2) = 'ab'",
    "substr": "substr(email, 1, 2) = 'ab'",
    "trim": "trim(name) = 'Ann'",
    "ltrim": "ltrim(name) = 'Ann'",
    "rtrim": "rtrim(name) = 'Ann'",
    "btrim": "btrim(name) = 'Ann'",
    "left": "left(email, 2) = 'ab'",
    "right": "right(email, 3) = 'com'",
    "concat": "concat(name, email) = 'x'",
    "concat_ws": "concat_ws(',', name, email) = 'x'",
    "initcap": "initcap(name) = 'Ann'",
    "position": "position('@' IN email) > 1",
    "strpos": "strpos(email, '@') > 1",
    "instr": "instr(email, '@') > 1",
    "abs": "abs(id) = 1",
    "round": "round(id, 1) = 1",
    "floor": "floor(id) = 1",
    "ceil": "ceil(id) = 1",
    "ceiling": "ceiling(id) = 1",
    "sign": "sign(id) = 1",
    "trunc": "trunc(id) = 1",
    "extract": "extract(year FROM created_at) = 2005",
    "date_part": "date_part('year', created_at) = 2005",
    "date_trunc": "date_trunc('month', created_at) = '2005-05-01'",
    "current_date": "created_at < current_date",
    "curdate": "created_at < curdate()",
    "current_timestamp": "created_at < current_timestamp",
    "now": "created_at < now()",
    "date": "date(created_at) = '2005-05-01'",
    "year": "year(created_at) = 2005",
    "month": "month(created_at) = 5",
    "day": "day(created_at) = 1",
    "to_char": "to_char(created_at, 'YYYY') = '2005'",
    "strftime": "strftime('%Y', created_at) = '2005'",
    "date_format": "date_format(created_at, '%Y') = '2005'",
    "to_date": "to_date('2005', 'YYYY') < created_at",
    "str_to_date": "str_to_date('2005-01-01', '%Y-%m-%d') < created_at",
    "date_add": "date_add(created_at, interval 1 day) > created_at",
    "date_sub": "date_sub(created_at, interval 1 day) < created_at",
    "datediff": "datediff(created_at, created_at) = 0",
    "datetime": "datetime(created_at) > datetime('now', '-30 years')",
    "julianday": "julianday(created_at) > 2450000",
    "unixepoch": "unixepoch(created_at) > 0",
}

Run = Callable[[str], object]


def check_engine(engine: str, run: Run) -> None:
    missing = set(allowed_functions(engine)) - set(SAMPLES)
    assert not missing, f"give {sorted(missing)} a sample clause"
    clauses = [
        *(SAMPLES[name] for name in allowed_functions(engine)),
        *ACCEPTED,
        *(where for e, where in ACCEPTED_IN if e == engine),
    ]
    failures = []
    for where in clauses:
        written = parse_where(CUSTOMERS, where, engine, "where").sql(DIALECTS[engine])
        try:
            run(f"SELECT count(*) FROM customers WHERE {written}")
        except Exception as err:  # every failing clause is listed at the end
            failures.append(f"{where[:60]!r} written as {written[:80]!r}: {err}")
    assert not failures, "\n".join(failures)


def test_allowed_functions_run_on_postgres(pg_database: Callable[[str], str]) -> None:
    with psycopg.connect(pg_database("where"), autocommit=True) as conn:
        conn.execute(CREATE.format(timestamp="timestamp"))
        conn.execute(INSERT)
        check_engine("postgres", lambda query: conn.execute(query).fetchall())


@contextmanager
def _mariadb(url: str) -> Iterator[pymysql.cursors.Cursor]:
    with pymysql.connect(**params(url), autocommit=True) as conn, conn.cursor() as cur:
        yield cur


def test_allowed_functions_run_on_mariadb(mysql_database: Callable[[str], str]) -> None:
    with _mariadb(mysql_database("where")) as cur:
        cur.execute(CREATE.format(timestamp="datetime"))
        cur.execute(INSERT)

        def run(query: str) -> object:
            cur.execute(query)
            return cur.fetchall()

        check_engine("mysql", run)


@pytest.mark.parametrize("engine", ["sqlite"])
def test_allowed_functions_run_on_sqlite(engine: str) -> None:
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(CREATE.format(timestamp="text"))
        conn.execute(INSERT)
        check_engine(engine, lambda query: conn.execute(query).fetchall())
    finally:
        conn.close()
