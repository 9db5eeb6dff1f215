"""The engine against real PostgreSQL databases, without Temporal."""

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from services.common.errors import InvalidArgumentError
from services.sync_worker.engine.connectors import open_database
from services.sync_worker.engine.plan import build_plan
from services.sync_worker.engine.sync import Destination, copy_table, fill_deferred_columns
from services.sync_worker.engine.validation import validate_job
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2
from veilsync.v1 import transformer_pb2 as t

SHOP_SQL = (Path(__file__).parent / "shop_schema.sql").read_text()
KEY = b"engine-test-key-0123456789"


def shop_job() -> job_pb2.Job:
    job = job_pb2.Job(name="shop")
    mapping = job.mappings.add(table="customers")
    mapping.columns["email"].transform_email.preserve_domain = False
    mapping.columns["first_name"].transform_first_name.SetInParent()
    mapping.columns["last_name"].transform_last_name.SetInParent()
    mapping.columns["ssn"].null.SetInParent()
    mapping.columns["notes"].transform_hash.length = 16
    return job


@pytest.fixture
def shop(pg_database: Callable[[str], str]) -> tuple[str, str]:
    source, destination = pg_database("src"), pg_database("dst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(SHOP_SQL)
    return source, destination


def run_sync(source_url: str, destination_url: str, job: job_pb2.Job) -> sync_pb2.SyncPlan:
    source, destination = open_database(source_url), open_database(destination_url)
    dest_plan = sync_pb2.DestinationPlan(init_schema=True, truncate_before_insert=True)
    plan = build_plan(job, source.introspect(), "src", [dest_plan])
    tables = [table for table in source.introspect().tables.values()]
    destination.create_tables(tables, source.engine)
    destination.truncate([(p.schema, p.name) for p in plan.tables])
    targets = [Destination(destination, dest_plan)]
    reports: list[tuple[int, int]] = []
    for table in plan.tables:
        read, written = copy_table(source, targets, table, KEY, lambda r, w: reports.append((r, w)))
        assert read == written
    for table in plan.tables:
        if table.deferred_columns:
            fill_deferred_columns(source, targets, table, KEY)
    destination.reset_sequences([(p.schema, p.name) for p in plan.tables])
    assert reports and all(r >= 0 for r, _ in reports)
    return plan


def rows(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


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
        validate_job(job, shop[0])
