"""Sakila, end to end through DataSyncWorkflow on the Temporal dev server: PostgreSQL into
PostgreSQL and SQLite with init_schema, and into MariaDB tables made beforehand. Its store <->
staff cycle has no nullable column; every row arrives, every foreign key holds, and no
customer's or staff member's email is left in clear.

The shipped MySQL and SQLite Sakila schemas differ from the PostgreSQL one (no fulltext
column, no payment partitions, special_features a SET), so the destinations take the source's
own definitions. MySQL has no type for film's text[] and tsvector columns, which init_schema
refuses: its tables are made from the source's definitions with those two as text, foreign
keys included, and the run loads the cycle into them as into any existing MariaDB schema."""

import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from services.common import contract
from services.engine.connectors import open_database
from services.engine.schema import TypeFamily
from services.sync_worker.worker import MAX_CONCURRENT_ACTIVITIES, build_worker
from tests.integration.any_engine import (
    ENGINES,
    dangling,
    declared_keys,
    empty_database,
    query,
)
from tests.integration.shop import check_job
from tests.integration.test_sync_workflow import FakeDirectory
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2

PII = {"customer": "email", "staff": "email"}


@pytest.fixture
async def worker(
    temporal_env: WorkflowEnvironment,
) -> AsyncIterator[tuple[Client, str, FakeDirectory]]:
    directory = FakeDirectory()
    queue = f"sakila-test-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
        async with build_worker(temporal_env.client, directory, executor, task_queue=queue):
            yield temporal_env.client, queue, directory


@pytest.fixture(params=ENGINES)
def destination(request: pytest.FixtureRequest) -> str:
    return empty_database(request, "sakila")


def make_mariadb_tables(source: str, destination: str) -> None:
    """The source's tables and keys in MariaDB, film's text[] and tsvector columns as text."""
    tables = []
    for table in open_database(source).introspect().tables.values():
        columns = tuple(
            dataclasses.replace(c, data_type="text", family=TypeFamily.TEXT)
            if c.data_type in ("text[]", "tsvector")
            else c
            for c in table.columns
        )
        tables.append(dataclasses.replace(table, columns=columns))
    database = open_database(destination)
    database.create_tables(tables, "postgres")
    database.add_foreign_keys(tables)


def sakila_job(job_id: str, init_schema: bool) -> job_pb2.Job:
    job = job_pb2.Job(id=job_id, name="sakila")
    job.source.connection = "prod"
    job.destinations.add(connection="qa", init_schema=init_schema, truncate_before_insert=True)
    for table, column in PII.items():
        job.mappings.add(table=table).columns[column].transform_email.SetInParent()
    return job


def source_count(url: str, table: str) -> int:
    # ONLY: Sakila's payment_p2007_* inherit payment, whose plain count includes theirs.
    return int(query(url, f"SELECT count(*) FROM ONLY {table}")[0][0])


async def test_sakila_syncs_with_its_cycle_every_row_and_no_email_in_clear(
    worker: tuple[Client, str, FakeDirectory],
    sakila_pg: Callable[[], str],
    destination: str,
) -> None:
    client, queue, directory = worker
    source = sakila_pg()
    directory.urls.update(prod=source, qa=destination)
    mariadb = destination.startswith("mysql")
    if mariadb:
        make_mariadb_tables(source, destination)
    job = sakila_job(f"sakila-{uuid.uuid4().hex[:8]}", init_schema=not mariadb)
    directory.jobs[job.id] = job
    result = await client.execute_workflow(
        contract.DATA_SYNC_WORKFLOW,
        sync_pb2.DataSyncWorkflowInput(job_id=job.id, account_id="default"),
        id=f"run-{uuid.uuid4().hex}",
        task_queue=queue,
        result_type=sync_pb2.DataSyncWorkflowResult,
    )
    assert all(t.status == job_pb2.TABLE_SYNC_STATUS_SUCCEEDED for t in result.progress.tables)

    tables = sorted(open_database(source).introspect().tables.values(), key=lambda t: t.name)
    expected = {t.name: source_count(source, f"public.{t.name}") for t in tables}
    # PostgreSQL's destination may take the partitions as children of payment too.
    only = "ONLY " if destination.startswith("postgres") else ""
    present = {
        t: int(query(destination, f"SELECT count(*) FROM {only}{t}")[0][0]) for t in expected
    }
    assert present == expected
    assert expected["rental"] > 16_000 and expected["payment"] > 16_000

    # Every foreign key of the source is declared in the destination, and holds.
    keys = {
        (t.name, fk.columns, fk.ref_table, fk.ref_columns) for t in tables for fk in t.foreign_keys
    }
    assert ("store", ("manager_staff_id",), "staff", ("staff_id",)) in keys
    assert ("staff", ("store_id",), "store", ("store_id",)) in keys
    assert declared_keys(destination) == keys
    assert {key: dangling(destination, key) for key in keys} == dict.fromkeys(keys, 0)

    for table, column in PII.items():
        emails = {r[0] for r in query(source, f"SELECT {column} FROM {table}") if r[0]}
        written = {r[0] for r in query(destination, f"SELECT {column} FROM {table}")}
        assert len(emails) > 1 and None not in written
        assert not emails & written, f"{table}.{column} left in clear"


def test_sakila_passes_the_check_a_job_is_saved_with(sakila_pg: Callable[[], str]) -> None:
    """`jobs create` used to refuse it: "foreign-key cycle public.staff -> public.store ->
    public.staff has no nullable foreign-key column to break it"."""
    check_job(sakila_job("sakila", init_schema=True), sakila_pg())
