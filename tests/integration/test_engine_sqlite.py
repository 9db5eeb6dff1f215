"""The engine with SQLite files on either side: the embedded default's path."""

import sqlite3
from collections.abc import Callable
from pathlib import Path

import psycopg

from services.engine.connectors import open_database
from services.engine.copy.table_copy import Destination, copy_table, fill_deferred_columns
from services.engine.planning.sync_plan import build_plan
from tests.integration.shop import SHOP_SQL, run_sync, shop_job
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2

KEY = b"sqlite-test-key-0123456789"

SQLITE_SHOP = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY, first_name VARCHAR(40) NOT NULL, last_name TEXT NOT NULL,
    email VARCHAR(120) UNIQUE, ssn TEXT, notes TEXT,
    referred_by INTEGER REFERENCES customers (id), created_at TEXT NOT NULL);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers (id),
    status TEXT NOT NULL, total NUMERIC NOT NULL);
"""


def make_sqlite_shop(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        conn.executescript(SQLITE_SHOP)
        conn.executemany(
            "INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    i,
                    f"Name{i}",
                    f"Last{i}",
                    f"u{i}@corp.test",
                    f"{i:09d}",
                    None if i % 2 else "",
                    (i % 20) + 1 if i % 3 else None,
                    "2024-01-01",
                )
                for i in range(1, 41)
            ],
        )
        conn.executemany(
            "INSERT INTO orders VALUES (?, ?, ?, ?)",
            [(i, (i % 40) + 1, "paid", i * 1.5) for i in range(1, 101)],
        )
    return f"sqlite://{path}"


def sync(source_url: str, destination_url: str) -> None:
    source, destination = open_database(source_url), open_database(destination_url)
    schema = source.introspect()
    dest_plan = sync_pb2.DestinationPlan(init_schema=True)
    job = shop_job()
    job.mappings[0].table = f"{schema.default_schema}.customers"
    plan = build_plan(job, schema, "src", [dest_plan])
    destination.create_tables(list(schema.tables.values()), source.engine)
    targets = [Destination(destination, dest_plan)]
    for table in plan.tables:
        copy_table(source, targets, table, KEY, lambda *_: None, chunk_rows=16)
    for table in plan.tables:
        if table.deferred_columns:
            fill_deferred_columns(source, targets, table, KEY)


def test_sqlite_to_sqlite(tmp_path: Path) -> None:
    source = make_sqlite_shop(tmp_path / "src.db")
    sync(source, f"sqlite://{tmp_path / 'dst.db'}")
    with sqlite3.connect(tmp_path / "src.db") as src, sqlite3.connect(tmp_path / "dst.db") as dst:
        before = src.execute("SELECT * FROM customers ORDER BY id").fetchall()
        after = dst.execute("SELECT * FROM customers ORDER BY id").fetchall()
        assert len(before) == len(after) == 40
        for b, a in zip(before, after, strict=True):
            assert a[0] == b[0] and a[6] == b[6] and a[7] == b[7]
            assert a[1] != b[1] and a[3] != b[3] and a[4] is None
        assert (
            src.execute("SELECT * FROM orders").fetchall()
            == dst.execute("SELECT * FROM orders").fetchall()
        )


def test_postgres_to_sqlite(tmp_path: Path, pg_database: Callable[[str], str]) -> None:
    source = pg_database("src")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(SHOP_SQL)
    sync(source, f"sqlite://{tmp_path / 'dst.db'}")
    with sqlite3.connect(tmp_path / "dst.db") as dst:
        counts = [
            dst.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("customers", "orders", "order_items")
        ]
        assert counts == [60, 150, 400]
        dangling = dst.execute(
            "SELECT count(*) FROM customers c LEFT JOIN customers r ON r.id = c.referred_by "
            "WHERE c.referred_by IS NOT NULL AND r.id IS NULL"
        ).fetchone()[0]
        assert dangling == 0
        assert (
            dst.execute("SELECT count(*) FROM customers WHERE referred_by IS NOT NULL").fetchone()[
                0
            ]
            > 0
        )


def test_a_subset_on_sqlite_brings_the_children_of_kept_rows(tmp_path: Path) -> None:
    source = make_sqlite_shop(tmp_path / "source.db")
    sqlite3.connect(tmp_path / "subset.db").close()  # an empty destination file
    destination = f"sqlite://{tmp_path / 'subset.db'}"
    job = job_pb2.Job(name="subset")
    job.source.subsets.add(table="customers", where="id <= 10")
    job.source.subset_by_foreign_keys = True

    run_sync(source, destination, job)

    with sqlite3.connect(tmp_path / "subset.db") as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (10,)
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (
            sum(1 for i in range(1, 101) if (i % 40) + 1 <= 10),
        )
        dangling = conn.execute(
            "SELECT (SELECT count(*) FROM orders o LEFT JOIN customers c "
            "ON c.id = o.customer_id WHERE c.id IS NULL), "
            "(SELECT count(*) FROM customers c LEFT JOIN customers r ON r.id = c.referred_by "
            "WHERE c.referred_by IS NOT NULL AND r.id IS NULL)"
        ).fetchone()
        assert dangling == (0, 0)
        kept = conn.execute("SELECT count(*) FROM customers WHERE referred_by IS NOT NULL")
        assert kept.fetchone()[0] > 0  # referrals inside the subset survive
