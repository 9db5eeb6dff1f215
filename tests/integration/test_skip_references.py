"""skip_foreign_key_violations on MariaDB and SQLite destinations: rows whose references
would dangle are left out and counted, whatever the on-conflict mode."""

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pymysql
import pytest

from services.engine.connectors import open_database
from services.engine.connectors.base import Database
from services.engine.connectors.mysql.connector import Bulk, MysqlDatabase
from services.engine.copy.destinations import prepare_destinations
from services.engine.copy.table_copy import CopyResult, Destination, copy_table
from services.engine.planning.sync_plan import build_plan
from tests.integration.mariadb import params
from tests.integration.shop import KEY
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2

TABLES = [
    "CREATE TABLE customers (id BIGINT PRIMARY KEY, name VARCHAR(20) NOT NULL)",
    "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id BIGINT, total INT NOT NULL)",
    "CREATE TABLE regions (country CHAR(2) NOT NULL, code INT NOT NULL, "
    "PRIMARY KEY (country, code))",
    "CREATE TABLE shops (id INT PRIMARY KEY, country CHAR(2), code INT, name VARCHAR(20))",
]
CUSTOMERS = [(i, f"c{i}") for i in range(1, 21)]
# Orders 1-90 reference real customers, 91-100 customers deleted long ago, 101-105 nobody.
ORDERS = [(i, 1 + i % 20 if i <= 90 else 500 + i if i <= 100 else None, i) for i in range(1, 106)]
REGIONS = [(country, code) for country in ("FR", "DE") for code in range(1, 6)]
# Shops 1-20 are in real regions; 21-25 and 28-30 in none; 26-27 have a NULL in their
# composite reference, which MATCH SIMPLE never checks.
SHOPS = [
    (i, "FR" if i % 2 else "DE", 1 + i % 5)
    if i <= 20
    else (i, "FR", 99)
    if i <= 25
    else (i, None, 99)
    if i <= 27
    else (i, "IT", 1)
    for i in range(1, 31)
]
ROWS: dict[str, list[tuple[Any, ...]]] = {
    "customers": CUSTOMERS,
    "orders": ORDERS,
    "regions": REGIONS,
    "shops": [(*shop, f"s{shop[0]}") for shop in SHOPS],
}
# What each table's copy reads, writes and skips.
COUNTS = {
    "customers": (20, 20, 0),
    "orders": (105, 95, 10),
    "regions": (10, 10, 0),
    "shops": (30, 22, 8),
}
DANGLING = [
    "SELECT count(*) FROM orders o WHERE o.customer_id IS NOT NULL AND NOT EXISTS "
    "(SELECT 1 FROM customers c WHERE c.id = o.customer_id)",
    "SELECT count(*) FROM shops s WHERE s.country IS NOT NULL AND s.code IS NOT NULL AND NOT "
    "EXISTS (SELECT 1 FROM regions r WHERE r.country = s.country AND r.code = s.code)",
]
KEPT_NULLS = [
    ("SELECT count(*) FROM orders WHERE customer_id IS NULL", 5),
    ("SELECT count(*) FROM shops WHERE country IS NULL", 2),
]
ON_CONFLICT = [
    job_pb2.ON_CONFLICT_UNSPECIFIED,
    job_pb2.ON_CONFLICT_NOTHING,
    job_pb2.ON_CONFLICT_UPDATE,
]


def dirty_job() -> job_pb2.Job:
    """References the source never declared, so its rows may dangle."""
    job = job_pb2.Job(name="dirty")
    for table, columns, parent, keys in (
        ("orders", ["customer_id"], "customers", ["id"]),
        ("shops", ["country", "code"], "regions", ["country", "code"]),
    ):
        job.source.virtual_foreign_keys.add(
            table=table, columns=columns, references_table=parent, references_columns=keys
        )
    return job


def copy_all(
    source: Database, destination: Database, on_conflict: "job_pb2.OnConflict.ValueType"
) -> dict[str, tuple[int, int, int]]:
    """One run's copies, in small chunks: each table's (read, written, skipped)."""
    dest_plan = sync_pb2.DestinationPlan(
        init_schema=True, on_conflict=on_conflict, skip_foreign_key_violations=True
    )
    plan = build_plan(dirty_job(), source.introspect(), "src", [dest_plan])
    targets = [Destination(destination, dest_plan)]
    prepare_destinations(source, targets, plan)
    results: dict[str, CopyResult] = {
        table.name: copy_table(source, targets, table, KEY, lambda *_: None, chunk_rows=16)
        for table in plan.tables
    }
    return {n: (r.rows_read, r.rows_written, r.rows_skipped) for n, r in results.items()}


def check_destination(rows: Callable[[str], Sequence[tuple[Any, ...]]]) -> None:
    assert [rows(f"SELECT count(*) FROM {name}")[0][0] for name in COUNTS] == [
        written for _, written, _ in COUNTS.values()
    ]
    assert [rows(query)[0][0] for query in DANGLING] == [0, 0]
    for query, count in KEPT_NULLS:
        assert rows(query)[0][0] == count


def fill_mysql(url: str) -> None:
    with pymysql.connect(**params(url), autocommit=True) as conn, conn.cursor() as cur:
        for statement in TABLES:
            cur.execute(statement)
        for table, values in ROWS.items():
            marks = ", ".join(["%s"] * len(values[0]))
            cur.executemany(f"INSERT INTO {table} VALUES ({marks})", values)


def fill_sqlite(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        for statement in TABLES:
            conn.execute(statement)
        for table, values in ROWS.items():
            conn.executemany(
                f"INSERT INTO {table} VALUES ({', '.join('?' * len(values[0]))})", values
            )
    return f"sqlite://{path}"


@pytest.mark.parametrize("bulk", ["load", "insert"])
@pytest.mark.parametrize("on_conflict", ON_CONFLICT)
def test_mysql_skips_and_counts_dangling_rows(
    mysql_database: Callable[[str], str],
    on_conflict: "job_pb2.OnConflict.ValueType",
    bulk: Bulk,
) -> None:
    source, target = mysql_database("src"), mysql_database("dst")
    fill_mysql(source)
    destination = MysqlDatabase(target, bulk)

    def rows(query: str) -> list[tuple[Any, ...]]:
        with pymysql.connect(**params(target)) as conn, conn.cursor() as cur:
            cur.execute(query)
            return list(cur.fetchall())

    assert copy_all(open_database(source), destination, on_conflict) == COUNTS
    check_destination(rows)
    if on_conflict == job_pb2.ON_CONFLICT_UNSPECIFIED:
        return
    # Again over the rows already written: conflicts resolve, the same rows are skipped.
    with pymysql.connect(**params(source), autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("UPDATE orders SET total = total + 1000")
    assert copy_all(open_database(source), destination, on_conflict) == COUNTS
    check_destination(rows)
    updated = 95 if on_conflict == job_pb2.ON_CONFLICT_UPDATE else 0
    assert rows("SELECT count(*) FROM orders WHERE total > 1000") == [(updated,)]


@pytest.mark.parametrize("on_conflict", ON_CONFLICT)
def test_sqlite_skips_and_counts_dangling_rows(
    tmp_path: Path, on_conflict: "job_pb2.OnConflict.ValueType"
) -> None:
    source = fill_sqlite(tmp_path / "src.db")
    target = tmp_path / "dst.db"
    sqlite3.connect(target).close()  # an empty database
    destination = open_database(f"sqlite://{target}")

    def rows(query: str) -> Sequence[tuple[Any, ...]]:
        with sqlite3.connect(target) as conn:
            return conn.execute(query).fetchall()

    assert copy_all(open_database(source), destination, on_conflict) == COUNTS
    check_destination(rows)
    # Values keep their types through the stage.
    assert rows("SELECT typeof(customer_id), typeof(total) FROM orders WHERE id = 1") == [
        ("integer", "integer")
    ]
    if on_conflict == job_pb2.ON_CONFLICT_UNSPECIFIED:
        return
    with sqlite3.connect(tmp_path / "src.db") as conn:
        conn.execute("UPDATE orders SET total = total + 1000")
    assert copy_all(open_database(source), destination, on_conflict) == COUNTS
    check_destination(rows)
    updated = 95 if on_conflict == job_pb2.ON_CONFLICT_UPDATE else 0
    assert rows("SELECT count(*) FROM orders WHERE total > 1000") == [(updated,)]
