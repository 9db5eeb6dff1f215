"""The engine against real PostgreSQL databases, without Temporal."""

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import psycopg
import pyarrow as pa
import pytest

from services.common.errors import DataRejectedError, InvalidArgumentError
from services.engine.connectors import open_database
from services.engine.connectors.base import Database, ReadRequest
from services.engine.connectors.postgres.connector import PostgresDatabase
from services.engine.copy.destinations import prepare_destinations
from services.engine.copy.table_copy import Destination, copy_table
from services.engine.copy.verify import verify_run
from services.engine.planning.sync_plan import build_plan
from tests.integration.shop import KEY, check_job, rows, run_sync, shop_job
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2
from veilsync.v1 import transformer_pb2 as t


def test_plan_orders_tables_and_defers_the_self_reference(shop: tuple[str, str]) -> None:
    source, _ = shop
    plan = build_plan(shop_job(), open_database(source).introspect(), "src", [])
    names = [f"{p.schema}.{p.name}" for p in plan.tables]
    assert names == ["public.customers", "public.orders", "public.order_items"]
    assert list(plan.tables[0].deferred_columns) == ["referred_by"]
    assert plan.tables[0].estimated_rows == 60
    generated = {c.name for c in plan.tables[1].columns if c.generated}
    assert generated == {"total_with_tax"}


def test_sync_copies_transforms_and_keeps_references(shop: tuple[str, str]) -> None:
    source, destination = shop
    run_sync(source, destination, shop_job())
    for table in ("customers", "orders", "order_items"):
        assert rows(source, f"SELECT count(*) FROM {table}") == rows(
            destination, f"SELECT count(*) FROM {table}"
        )
    src = {r[0]: r for r in rows(source, "SELECT * FROM customers ORDER BY id")}
    dst = {r[0]: r for r in rows(destination, "SELECT * FROM customers ORDER BY id")}
    for cid, before in src.items():
        after = dst[cid]
        assert after[1] != before[1] and after[2] != before[2] and after[3] != before[3]
        assert after[4] is None  # ssn nulled
        assert (after[5] is None) == (before[5] is None)  # NULL stays NULL
        if before[5] is not None:
            assert after[5] != before[5] and len(after[5]) == 16
        assert after[6] == before[6] and after[7] == before[7]  # passthrough
    # Untransformed tables are identical, including arrays, enums and generated columns.
    for query in (
        "SELECT * FROM orders ORDER BY id",
        "SELECT * FROM order_items ORDER BY id",
    ):
        assert rows(source, query) == rows(destination, query)
    dangling = rows(
        destination,
        "SELECT count(*) FROM customers c LEFT JOIN customers r ON r.id = c.referred_by "
        "WHERE c.referred_by IS NOT NULL AND r.id IS NULL",
    )
    assert dangling == [(0,)]
    # Sequences continue after the copied keys.
    with psycopg.connect(destination) as conn:
        new_id = conn.execute(
            "INSERT INTO customers (first_name, last_name) VALUES ('x', 'y') RETURNING id"
        ).fetchone()
    assert new_id == (61,)


def test_a_second_run_with_truncate_gives_the_same_result(shop: tuple[str, str]) -> None:
    source, destination = shop
    run_sync(source, destination, shop_job())
    first = rows(destination, "SELECT * FROM customers ORDER BY id")
    run_sync(source, destination, shop_job())
    assert rows(destination, "SELECT * FROM customers ORDER BY id") == first


@pytest.mark.parametrize(
    ("table", "column", "config", "message"),
    [
        ("nope", "x", t.TransformerConfig(null=t.Null()), "table 'nope' does not exist"),
        ("customers", "nope", t.TransformerConfig(null=t.Null()), "column 'nope' does not exist"),
        ("customers", "email", t.TransformerConfig(), "no transformer is set"),
        ("customers", "first_name", t.TransformerConfig(null=t.Null()), "NOT NULL"),
        ("orders", "total", t.TransformerConfig(transform_email=t.TransformEmail()), "accepts"),
        ("customers", "id", t.TransformerConfig(transform_hash=t.TransformHash()), "accepts"),
    ],
)
def test_validation_names_the_problem(
    shop: tuple[str, str], table: str, column: str, config: t.TransformerConfig, message: str
) -> None:
    job = job_pb2.Job(name="bad")
    job.mappings.add(table=table).columns[column].CopyFrom(config)
    with pytest.raises(InvalidArgumentError, match=message):
        check_job(job, shop[0])


class SourceLost(Exception):
    pass


@dataclass
class FailingSource:
    """A real source whose connection dies after `rows` rows have been read."""

    database: Database
    rows: int

    def __getattr__(self, name: str) -> object:
        return getattr(self.database, name)

    def read(self, request: ReadRequest) -> Iterator[pa.RecordBatch]:
        left = self.rows
        for batch in self.database.read(request):
            for start in range(0, batch.num_rows, 10):
                if left <= 0:
                    raise SourceLost
                piece = batch.slice(start, min(10, left))
                left -= piece.num_rows
                yield piece


def test_a_copy_interrupted_mid_chunk_resumes_from_its_checkpoint(shop: tuple[str, str]) -> None:
    source_url, destination_url = shop
    source, destination = open_database(source_url), open_database(destination_url)
    dest_plan = sync_pb2.DestinationPlan(init_schema=True)
    plan = build_plan(shop_job(), source.introspect(), "src", [dest_plan])
    destination.create_tables(list(source.introspect().tables.values()), source.engine)
    targets = [Destination(destination, dest_plan)]
    customers, orders, items = plan.tables
    for table in (customers, orders):
        copy_table(source, targets, table, KEY, lambda *_: None)
    checkpoints: list[sync_pb2.TableCheckpoint] = []

    def keep(checkpoint: sync_pb2.TableCheckpoint, *_: int) -> None:
        checkpoints.append(checkpoint)

    flaky = cast(Database, FailingSource(source, rows=250))
    with pytest.raises(SourceLost):
        copy_table(flaky, targets, items, KEY, keep, chunk_rows=100)
    committed = rows(destination_url, "SELECT count(*) FROM order_items")[0][0]
    assert committed == checkpoints[-1].rows_read == 200  # the third chunk rolled back
    result = copy_table(source, targets, items, KEY, lambda *_: None, checkpoints[-1], 100)
    assert (result.rows_resumed, result.rows_read) == (200, 400)
    query = "SELECT * FROM order_items ORDER BY id"
    assert rows(destination_url, query) == rows(source_url, query)


def test_a_resumed_copy_skips_rows_the_dead_attempt_committed_after_its_checkpoint(
    shop: tuple[str, str],
) -> None:
    """The heartbeat carrying a checkpoint can be lost: rows after it may be committed."""
    source_url, destination_url = shop
    source, destination = open_database(source_url), open_database(destination_url)
    dest_plan = sync_pb2.DestinationPlan(init_schema=True)
    plan = build_plan(shop_job(), source.introspect(), "src", [dest_plan])
    # Without their foreign keys (init_schema adds them after the data): items load alone.
    destination.create_tables(list(source.introspect().tables.values()), source.engine)
    items = plan.tables[2]
    targets = [Destination(destination, dest_plan)]
    copy_table(source, targets, items, KEY, lambda *_: None)
    stale = sync_pb2.TableCheckpoint(last_key=["150"], rows_read=150, rows_written=150)
    result = copy_table(source, targets, items, KEY, lambda *_: None, stale, 100)
    assert result.rows_resumed == 150
    query = "SELECT * FROM order_items ORDER BY id"
    assert rows(destination_url, query) == rows(source_url, query)


def test_a_partitioned_table_syncs_through_its_parent(pg_database: Callable[[str], str]) -> None:
    source, destination = pg_database("src"), pg_database("dst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE events (id bigint, at date NOT NULL, PRIMARY KEY (id, at)) "
            "PARTITION BY RANGE (at);"
            "CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO "
            "('2024-01-01');"
            "CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO "
            "('2025-01-01');"
            "INSERT INTO events SELECT i, DATE '2023-06-01' + i FROM generate_series(1, 300) i"
        )
    plan = run_sync(source, destination, job_pb2.Job(name="parts"))
    assert [f"{t.schema}.{t.name}" for t in plan.tables] == ["public.events"]
    query = "SELECT * FROM events ORDER BY id"
    assert rows(destination, query) == rows(source, query)


def test_schemas_and_tables_are_remapped_in_the_destination(shop: tuple[str, str]) -> None:
    source, destination = shop
    job = shop_job()
    job.destinations.add(
        connection="qa",
        init_schema=True,
        schema_map={"public": "qa"},
        table_map={"public.order_items": "archive.lines"},
    )
    run_sync(source, destination, job, job.destinations[0])
    assert rows(destination, "SELECT count(*) FROM qa.customers") == [(60,)]
    assert rows(destination, "SELECT count(*) FROM qa.orders") == [(150,)]
    assert rows(destination, "SELECT count(*) FROM archive.lines") == [(400,)]
    assert rows(destination, "SELECT to_regclass('public.customers')") == [(None,)]
    # The remapped table's foreign key points at the remapped parent.
    assert rows(
        destination,
        "SELECT confrelid::regclass::text FROM pg_constraint "
        "WHERE conrelid = 'archive.lines'::regclass AND contype = 'f'",
    ) == [("qa.orders",)]


@pytest.mark.parametrize(
    ("schema_map", "table_map", "message"),
    [
        ({"nope": "qa"}, {}, "the source has no schema 'nope'"),
        ({}, {"public.nope": "qa.x"}, "table 'public.nope' does not exist"),
        ({}, {"public.orders": "lines"}, "not a schema-qualified table name"),
        ({}, {"public.orders": "qa.x", "public.customers": "qa.x"}, "both land in qa.x"),
    ],
)
def test_bad_remapping_is_refused_naming_it(
    shop: tuple[str, str], schema_map: dict[str, str], table_map: dict[str, str], message: str
) -> None:
    job = shop_job()
    job.destinations.add(connection="qa", schema_map=schema_map, table_map=table_map)
    with pytest.raises(InvalidArgumentError, match=message) as error:
        check_job(job, shop[0])
    assert error.value.field.startswith("job.destinations[0]")


def test_a_two_table_cycle_syncs_with_the_nullable_side_filled_later(
    pg_database: Callable[[str], str],
) -> None:
    source, destination = pg_database("src"), pg_database("dst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE departments (id bigint PRIMARY KEY, name text NOT NULL,"
            " manager_id bigint);"
            "CREATE TABLE employees (id bigint PRIMARY KEY, department_id bigint NOT NULL"
            " REFERENCES departments (id), boss_id bigint REFERENCES employees (id));"
            "ALTER TABLE departments ADD FOREIGN KEY (manager_id) REFERENCES employees (id);"
            "INSERT INTO departments SELECT i, 'd' || i, NULL FROM generate_series(1, 20) i;"
            "INSERT INTO employees SELECT i, 1 + i % 20, NULLIF(i / 2, 0)"
            " FROM generate_series(1, 200) i;"
            "UPDATE departments SET manager_id = id * 10"
        )
    plan = run_sync(source, destination, job_pb2.Job(name="cycle"))
    deferred = {p.name: list(p.deferred_columns) for p in plan.tables}
    assert deferred == {"departments": ["manager_id"], "employees": ["boss_id"]}
    for query in (
        "SELECT * FROM departments ORDER BY id",
        "SELECT * FROM employees ORDER BY id",
    ):
        assert rows(destination, query) == rows(source, query)


DIRTY = """
CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, total int NOT NULL);
INSERT INTO customers SELECT i, 'c' || i FROM generate_series(1, 20) i;
-- Orders 1-90 reference real customers, 91-100 customers that were deleted long ago,
-- and 101-105 nobody: the application never declared the foreign key.
INSERT INTO orders SELECT i, CASE WHEN i <= 90 THEN 1 + i % 20 WHEN i <= 100 THEN 500 + i END, i
FROM generate_series(1, 105) i;
"""


def dirty_job() -> job_pb2.Job:
    job = job_pb2.Job(name="dirty")
    job.source.virtual_foreign_keys.add(
        table="orders",
        columns=["customer_id"],
        references_table="customers",
        references_columns=["id"],
    )
    return job


@pytest.mark.parametrize(("skip", "orders"), [(True, 95), (False, 105)])
def test_rows_whose_references_dangle_are_skipped_and_counted_when_asked(
    pg_database: Callable[[str], str], skip: bool, orders: int
) -> None:
    source, destination = pg_database("src"), pg_database("dst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(DIRTY)
    options = job_pb2.JobDestination(init_schema=True, skip_foreign_key_violations=skip)
    run_sync(source, destination, dirty_job(), options)
    assert rows(destination, "SELECT count(*) FROM orders") == [(orders,)]
    dangling = rows(
        destination,
        "SELECT count(*) FROM orders o WHERE o.customer_id IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM customers c WHERE c.id = o.customer_id)",
    )
    assert dangling == [(0 if skip else 10,)]
    # NULL references are not violations: orders 101-105 are kept either way.
    assert rows(destination, "SELECT count(*) FROM orders WHERE customer_id IS NULL") == [(5,)]


def test_the_skipped_count_is_reported(pg_database: Callable[[str], str]) -> None:
    source, destination = pg_database("src"), pg_database("dst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(DIRTY)
    dest_plan = sync_pb2.DestinationPlan(init_schema=True, skip_foreign_key_violations=True)
    src = open_database(source)
    plan = build_plan(dirty_job(), src.introspect(), "src", [dest_plan])
    targets = [Destination(open_database(destination), dest_plan)]
    prepare_destinations(src, targets, plan)
    customers, orders = plan.tables
    copy_table(src, targets, customers, KEY, lambda *_: None)
    result = copy_table(src, targets, orders, KEY, lambda *_: None)
    assert (result.rows_read, result.rows_written, result.rows_skipped) == (105, 95, 10)


def test_skipping_works_on_a_sqlite_destination(
    pg_database: Callable[[str], str], tmp_path: Path
) -> None:
    source = pg_database("src")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(DIRTY)
    options = job_pb2.JobDestination(init_schema=True, skip_foreign_key_violations=True)
    target = tmp_path / "dst.db"
    sqlite3.connect(target).close()
    run_sync(source, f"sqlite://{target}", dirty_job(), options)
    with sqlite3.connect(target) as conn:
        counts = conn.execute(
            "SELECT count(*), count(customer_id), count(DISTINCT customer_id) FROM orders"
        ).fetchone()
        dangling = conn.execute(
            "SELECT count(*) FROM orders o WHERE o.customer_id IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM customers c WHERE c.id = o.customer_id)"
        ).fetchone()
    assert counts == (95, 90, 20) and dangling == (0,)  # NULL references kept


def test_a_destination_role_without_insert_fails_before_any_change(
    shop: tuple[str, str],
) -> None:
    source, destination = shop
    run_sync(source, destination, shop_job())  # the destination's tables now exist
    role = f"vs_reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(destination, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        conn.execute(f"GRANT SELECT, TRUNCATE ON ALL TABLES IN SCHEMA public TO {role}")
    reader = destination.replace("postgres@", f"{role}@", 1)
    try:
        options = job_pb2.JobDestination(truncate_before_insert=True)
        with pytest.raises(InvalidArgumentError, match=r"lacks INSERT on public\.") as error:
            run_sync(source, reader, shop_job(), options)
        assert error.value.field == "job.destinations[0]"
        # Checked before the truncate: the earlier copy is untouched.
        assert rows(destination, "SELECT count(*) FROM order_items") == [(400,)]
    finally:
        with psycopg.connect(destination, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def test_steps_share_one_connection_while_sharing_and_a_failed_one_is_not_reused(
    pg_database: Callable[[str], str],
) -> None:
    database = PostgresDatabase(pg_database("share"))

    def backend() -> int:
        with database._connect() as conn:
            row = conn.execute("SELECT pg_backend_pid()").fetchone()
            assert row is not None
            return int(row[0])

    assert backend() != backend()  # not sharing: a connection per step
    with database.sharing_connection():
        first = backend()
        assert backend() == first
        with database._connect() as outer:
            assert backend() != first  # the shared one is busy: a step of its own
            outer.execute("SELECT 1")
        with pytest.raises(DataRejectedError), database._connect() as conn:
            conn.execute("SELECT 1 / 0")
        after_failure = backend()
        assert after_failure != first
        assert backend() == after_failure
    assert backend() != after_failure


def test_a_run_is_verified_over_one_connection_per_database(
    shop: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counts, dangling references and the privacy report's samples, table after table, share
    the destination's connection (a run of many small tables paid one connection per query)."""
    source_url, destination_url = shop
    plan = run_sync(source_url, destination_url, shop_job())
    progress = sync_pb2.SyncProgress()
    for table in plan.tables:
        ((count,),) = rows(source_url, f"SELECT count(*) FROM {table.schema}.{table.name}")
        progress.tables.add(
            table=f"{table.schema}.{table.name}", rows_read=count, rows_written=count
        )
    opened: list[str] = []
    open_connection = PostgresDatabase._open

    def counted_open(database: PostgresDatabase) -> psycopg.Connection:
        opened.append(database._url)
        return open_connection(database)

    monkeypatch.setattr(PostgresDatabase, "_open", counted_open)
    destination = Destination(open_database(destination_url), plan.destinations[0])
    verification = verify_run(open_database(source_url), [destination], plan, progress)
    assert opened == [destination_url]
    assert not verification.failures
    assert [(t.table, t.rows_present) for t in verification.tables] == [
        (t.table, t.rows_written) for t in progress.tables
    ]
    assert verification.references_checked == sum(len(t.checked_references) for t in plan.tables)
    assert verification.references_checked > 0
    assert [t.table for t in verification.privacy.tables] == [t.table for t in progress.tables]
    assert all(t.rows_sampled > 0 for t in verification.privacy.tables)
