"""A foreign-key cycle no nullable column breaks (Sakila's store <-> staff), loaded on real
PostgreSQL, MariaDB and SQLite: into existing tables with the cycle's constraints deferred or
checked afterwards, and with init_schema, whose foreign keys come after the data."""

import sqlite3
from collections.abc import Callable

import psycopg
import pymysql
import pytest

from services.common.errors import DataRejectedError, InvalidArgumentError
from tests.integration import any_engine
from tests.integration.any_engine import ENGINES, declared_keys, empty_database, query
from tests.integration.mariadb import params
from tests.integration.shop import run_sync
from veilsync.v1 import job_pb2

# Every store is managed by one of its staff; every staff member works in a store.
SOURCE = """
CREATE TABLE store (id int PRIMARY KEY, manager_id int NOT NULL, name text NOT NULL);
CREATE TABLE staff (id int PRIMARY KEY, store_id int NOT NULL, email text NOT NULL);
CREATE TABLE customer (id int PRIMARY KEY, store_id int NOT NULL REFERENCES store (id));
INSERT INTO store SELECT s, s * 10, 'store ' || s FROM generate_series(1, 3) s;
INSERT INTO staff SELECT s * 10 + k, s, 'staff' || (s * 10 + k) || '@corp.test'
    FROM generate_series(1, 3) s, generate_series(0, 2) k;
INSERT INTO customer SELECT c, c % 3 + 1 FROM generate_series(1, 20) c;
"""
MANAGER_KEY = (
    "ALTER TABLE store ADD CONSTRAINT store_manager_fkey "
    "FOREIGN KEY (manager_id) REFERENCES staff (id)"
)
# The key the plan relaxes: staff is loaded first, before the stores its rows name.
STAFF_KEY = (
    "ALTER TABLE staff ADD CONSTRAINT staff_store_fkey FOREIGN KEY (store_id) REFERENCES store (id)"
)
TABLES = ("store", "staff", "customer")
MISSING_STORE = 987_654  # a value no database name or message holds by chance

# The same tables in existing destinations: the cycle's keys declared, forward references
# added once both tables exist.
PG_TABLES = """
CREATE TABLE store (id int PRIMARY KEY, manager_id int NOT NULL, name text NOT NULL);
CREATE TABLE staff (id int PRIMARY KEY, store_id int NOT NULL, email text NOT NULL);
CREATE TABLE customer (id int PRIMARY KEY, store_id int NOT NULL REFERENCES store (id));
"""
MYSQL_TABLES = [
    "CREATE TABLE store (id INT PRIMARY KEY, manager_id INT NOT NULL, name TEXT NOT NULL)",
    "CREATE TABLE staff (id INT PRIMARY KEY, store_id INT NOT NULL, email TEXT NOT NULL)",
    "CREATE TABLE customer (id INT PRIMARY KEY, store_id INT NOT NULL, "
    "CONSTRAINT customer_store_fkey FOREIGN KEY (store_id) REFERENCES store (id))",
    MANAGER_KEY,
    STAFF_KEY,
]
SQLITE_TABLES = """
CREATE TABLE store (id INTEGER PRIMARY KEY, manager_id INTEGER NOT NULL REFERENCES staff (id),
                    name TEXT NOT NULL);
CREATE TABLE staff (id INTEGER PRIMARY KEY, store_id INTEGER NOT NULL REFERENCES store (id),
                    email TEXT NOT NULL);
CREATE TABLE customer (id INTEGER PRIMARY KEY, store_id INTEGER NOT NULL REFERENCES store (id));
"""


def counts(url: str) -> dict[str, int]:
    return {t: int(query(url, f"SELECT count(*) FROM {t}")[0][0]) for t in TABLES}


CYCLE_KEYS = {
    ("store", ("manager_id",), "staff", ("id",)),
    ("staff", ("store_id",), "store", ("id",)),
    ("customer", ("store_id",), "store", ("id",)),
}


def dangling(url: str) -> int:
    """Rows of the three tables whose reference names no row."""
    return sum(any_engine.dangling(url, key) for key in CYCLE_KEYS)


@pytest.fixture
def source(pg_database: Callable[[str], str]) -> str:
    url = pg_database("src")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SOURCE)
        conn.execute(MANAGER_KEY)
        conn.execute(STAFF_KEY)
    return url


@pytest.fixture
def dangling_source(pg_database: Callable[[str], str]) -> str:
    """Staff 12's store does not exist; the key is NOT VALID, so the source keeps the row."""
    url = pg_database("src")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SOURCE)
        conn.execute(MANAGER_KEY)
        conn.execute(f"UPDATE staff SET store_id = {MISSING_STORE} WHERE id = 12")
        conn.execute(STAFF_KEY + " NOT VALID")
    return url


@pytest.fixture(params=ENGINES)
def existing(request: pytest.FixtureRequest) -> str:
    """A destination already holding the tables and their keys, the cycle's included (in
    PostgreSQL deferrable)."""
    url = empty_database(request, "dst")
    if request.param == "postgres":
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(PG_TABLES)
            conn.execute(MANAGER_KEY)
            conn.execute(STAFF_KEY + " DEFERRABLE")
    elif request.param == "mariadb":
        with pymysql.connect(**params(url), autocommit=True) as conn, conn.cursor() as cur:
            for statement in MYSQL_TABLES:
                cur.execute(statement)
    else:
        with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
            conn.executescript(SQLITE_TABLES)
    return url


def into_existing() -> job_pb2.JobDestination:
    return job_pb2.JobDestination(truncate_before_insert=True)


def test_a_cycle_loads_into_existing_tables(source: str, existing: str) -> None:
    plan = run_sync(source, existing, job_pb2.Job(name="cycle"), into_existing())
    by_name = {t.name: t for t in plan.tables}
    assert [f"{t.schema}.{t.name}" for t in plan.tables] == [
        "public.staff",
        "public.store",
        "public.customer",
    ]
    assert by_name["store"].load_group == by_name["staff"].load_group == "public.staff"
    assert [list(r.columns) for r in by_name["staff"].relaxed_references] == [["store_id"]]
    # Written before the stores, staff's store key is not among the references a writer may
    # leave rows out for.
    assert [list(r.columns) for r in by_name["staff"].references] == []
    assert counts(existing) == counts(source) == {"store": 3, "staff": 9, "customer": 20}
    assert dangling(existing) == 0
    # Again, over the rows of the first run.
    run_sync(source, existing, job_pb2.Job(name="cycle"), into_existing())
    assert counts(existing) == counts(source)


def test_a_row_the_relaxed_key_refuses_fails_the_load_naming_the_key(
    dangling_source: str, existing: str
) -> None:
    with pytest.raises(DataRejectedError, match=r"staff_store_fkey|staff_fk0") as failure:
        run_sync(dangling_source, existing, job_pb2.Job(name="cycle"), into_existing())
    assert str(MISSING_STORE) not in str(failure.value)  # no row value past the boundary
    if existing.startswith("postgres"):
        # One transaction: the deferred check at its commit rolled the whole group back.
        assert counts(existing)["store"] == counts(existing)["staff"] == 0


def test_a_key_that_is_not_deferrable_is_refused_before_anything_is_written(
    source: str, pg_database: Callable[[str], str]
) -> None:
    destination = pg_database("dst")
    with psycopg.connect(destination, autocommit=True) as conn:
        conn.execute(PG_TABLES)
        conn.execute(MANAGER_KEY)
        conn.execute(STAFF_KEY)
    with pytest.raises(InvalidArgumentError) as failure:
        run_sync(source, destination, job_pb2.Job(name="cycle"), into_existing())
    message = str(failure.value)
    assert failure.value.field == "job.destinations[0]"
    assert "staff_store_fkey on public.staff" in message and "NOT DEFERRABLE" in message
    assert "ALTER TABLE public.staff ALTER CONSTRAINT staff_store_fkey DEFERRABLE" in message
    assert "init_schema" in message
    assert counts(destination) == {"store": 0, "staff": 0, "customer": 0}


@pytest.fixture(params=ENGINES)
def empty(request: pytest.FixtureRequest) -> str:
    return empty_database(request, "dst")


def test_init_schema_adds_the_keys_after_the_data(source: str, empty: str) -> None:
    run_sync(source, empty, job_pb2.Job(name="cycle"))
    assert counts(empty) == counts(source)
    assert declared_keys(empty) == CYCLE_KEYS
    assert dangling(empty) == 0
    if empty.startswith("postgres"):
        # The relaxed key is created DEFERRABLE, so the next run can defer it.
        assert query(
            empty,
            "SELECT conname, condeferrable FROM pg_constraint WHERE contype = 'f' ORDER BY conname",
        ) == [
            ("customer_store_id_fkey", False),
            ("staff_store_fkey", True),
            ("store_manager_fkey", False),
        ]
    # The next run finds the tables, and their keys, in place.
    run_sync(source, empty, job_pb2.Job(name="cycle"))
    assert counts(empty) == counts(source)
    assert declared_keys(empty) == CYCLE_KEYS


def test_init_schema_refuses_a_key_the_rows_break_naming_it(
    dangling_source: str, empty: str
) -> None:
    with pytest.raises(DataRejectedError, match=r"staff_store_fkey|staff_fk0") as failure:
        run_sync(dangling_source, empty, job_pb2.Job(name="cycle"))
    assert str(MISSING_STORE) not in str(failure.value)
