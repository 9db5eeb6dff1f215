"""DataSyncWorkflow on a real Temporal dev server and real PostgreSQL databases."""

import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from services.common import contract
from services.common.errors import NotFoundError
from services.sync_worker.worker import MAX_CONCURRENT_ACTIVITIES, build_worker
from tests.integration.shop import SHOP_SQL, rows, shop_job
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2, transformer_pb2


@dataclass
class FakeDirectory:
    """The metadata store's read side, in memory (a fake of the port, not of a database)."""

    urls: dict[str, str] = field(default_factory=dict)
    jobs: dict[str, job_pb2.Job] = field(default_factory=dict)

    def connection_url(self, account_id: str, connection_id: str) -> str:
        return self.urls[connection_id]

    def get_job(
        self, account_id: str, *, job_id: str | None = None, name: str | None = None
    ) -> job_pb2.Job:
        if job_id not in self.jobs:
            raise NotFoundError(f"job {job_id} not found")
        return self.jobs[job_id]

    def transform_key(self, account_id: str, job_id: str) -> bytes:
        return b"workflow-test-key"

    def connection_id_by_name(self, account_id: str, name: str) -> str:
        return name

    def saved_transformer(
        self, account_id: str, name: str
    ) -> transformer_pb2.TransformerConfig | None:
        return None  # no saved transformers

    def hook_secret(self, account_id: str, job_id: str) -> bytes:
        return b""


@pytest.fixture
async def worker(
    temporal_env: WorkflowEnvironment,
) -> AsyncIterator[tuple[Client, str, FakeDirectory]]:
    directory = FakeDirectory()
    queue = f"sync-test-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
        async with build_worker(temporal_env.client, directory, executor, task_queue=queue):
            yield temporal_env.client, queue, directory


def shop_setup(pg_database: Callable[[str], str], directory: FakeDirectory) -> tuple[str, str]:
    source, destination = pg_database("src"), pg_database("dst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(SHOP_SQL)
    directory.urls.update(prod=source, qa=destination)
    job = shop_job()
    job.id = "job-1"
    job.source.connection = "prod"
    job.destinations.add(connection="qa", truncate_before_insert=True, init_schema=True)
    directory.jobs[job.id] = job
    return source, destination


async def test_sync_runs_in_foreign_key_order_and_reports_exact_progress(
    worker: tuple[Client, str, FakeDirectory], pg_database: Callable[[str], str]
) -> None:
    client, queue, directory = worker
    source, destination = shop_setup(pg_database, directory)
    run_id = f"run-{uuid.uuid4().hex}"
    result = await client.execute_workflow(
        contract.DATA_SYNC_WORKFLOW,
        sync_pb2.DataSyncWorkflowInput(job_id="job-1", account_id="default"),
        id=run_id,
        task_queue=queue,
        result_type=sync_pb2.DataSyncWorkflowResult,
    )
    counts = {t.table: t.rows_written for t in result.progress.tables}
    assert counts == {"public.customers": 60, "public.orders": 150, "public.order_items": 400}
    assert all(t.status == job_pb2.TABLE_SYNC_STATUS_SUCCEEDED for t in result.progress.tables)
    assert all(t.rows_total == t.rows_read for t in result.progress.tables)
    assert result.rows_read == result.rows_written == 610
    for table in ("customers", "orders", "order_items"):
        assert rows(destination, f"SELECT count(*) FROM {table}") == rows(
            source, f"SELECT count(*) FROM {table}"
        )
    assert rows(
        destination, "SELECT count(*) FROM customers WHERE referred_by IS NOT NULL"
    ) == rows(source, "SELECT count(*) FROM customers WHERE referred_by IS NOT NULL")
    # The query answers after the run too, with the same final counts.
    answer = await client.get_workflow_handle(run_id).query(
        contract.GET_SYNC_PROGRESS_QUERY,
        sync_pb2.GetSyncProgressRequest(),
        result_type=sync_pb2.GetSyncProgressResponse,
    )
    assert answer.progress == result.progress


async def test_a_rejected_row_fails_the_run_naming_the_table(
    worker: tuple[Client, str, FakeDirectory], pg_database: Callable[[str], str]
) -> None:
    client, queue, directory = worker
    _, destination = shop_setup(pg_database, directory)
    with psycopg.connect(destination, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE order_items (id bigint PRIMARY KEY, order_id bigint, "
            "sku varchar(3), quantity int, tags text[])"
        )
    with pytest.raises(WorkflowFailureError) as failure:
        await client.execute_workflow(
            contract.DATA_SYNC_WORKFLOW,
            sync_pb2.DataSyncWorkflowInput(job_id="job-1", account_id="default"),
            id=f"run-{uuid.uuid4().hex}",
            task_queue=queue,
            result_type=sync_pb2.DataSyncWorkflowResult,
        )
    message = str(failure.value.cause)
    assert "copying public.order_items failed" in message
    assert "too long" in message


async def test_an_unknown_job_fails_without_retrying(
    worker: tuple[Client, str, FakeDirectory],
) -> None:
    client, queue, _ = worker
    with pytest.raises(WorkflowFailureError) as failure:
        await client.execute_workflow(
            contract.DATA_SYNC_WORKFLOW,
            sync_pb2.DataSyncWorkflowInput(job_id="missing", account_id="default"),
            id=f"run-{uuid.uuid4().hex}",
            task_queue=queue,
        )
    assert "job missing not found" in str(failure.value.cause)


@pytest.mark.parametrize(
    ("ddl", "message"),
    [
        ("CREATE TABLE customers (id bigint PRIMARY KEY)", "has no column 'first_name'"),
        (
            "CREATE TABLE customers (id bigint, first_name text, last_name text, email text, "
            "ssn text, notes text, referred_by bigint, created_at timestamptz, tier int NOT NULL)",
            "customers.tier is NOT NULL without a default",
        ),
    ],
)
async def test_a_destination_that_does_not_fit_fails_before_any_write(
    worker: tuple[Client, str, FakeDirectory],
    pg_database: Callable[[str], str],
    ddl: str,
    message: str,
) -> None:
    client, queue, directory = worker
    _, destination = shop_setup(pg_database, directory)
    directory.jobs["job-1"].destinations[0].init_schema = False
    with psycopg.connect(destination, autocommit=True) as conn:
        conn.execute(ddl)
        conn.execute("CREATE TABLE orders (id bigint PRIMARY KEY)")
        conn.execute("INSERT INTO orders VALUES (7)")
    with pytest.raises(WorkflowFailureError) as failure:
        await client.execute_workflow(
            contract.DATA_SYNC_WORKFLOW,
            sync_pb2.DataSyncWorkflowInput(job_id="job-1", account_id="default"),
            id=f"run-{uuid.uuid4().hex}",
            task_queue=queue,
        )
    assert message in str(failure.value.cause)
    assert "job.destinations[0]" in str(failure.value.cause)
    # Nothing was written, nothing truncated.
    assert rows(destination, "SELECT id FROM orders") == [(7,)]
    assert rows(destination, "SELECT count(*) FROM customers") == [(0,)]


async def _run(
    client: Client, queue: str, request: sync_pb2.DataSyncWorkflowInput
) -> tuple[WorkflowHandle[Any, sync_pb2.DataSyncWorkflowResult], sync_pb2.DataSyncWorkflowResult]:
    """Run the workflow to completion: its handle (first run) and result."""
    handle = await client.start_workflow(
        contract.DATA_SYNC_WORKFLOW,
        request,
        id=f"run-{uuid.uuid4().hex}",
        task_queue=queue,
        result_type=sync_pb2.DataSyncWorkflowResult,
    )
    return handle, await handle.result()


async def test_large_tables_are_copied_as_parallel_key_ranges(
    worker: tuple[Client, str, FakeDirectory], pg_database: Callable[[str], str]
) -> None:
    client, queue, directory = worker
    source, destination = shop_setup(pg_database, directory)
    directory.jobs["job-1"].split_table_rows = 100  # orders: 2 parts, order_items: 4

    handle, result = await _run(
        client, queue, sync_pb2.DataSyncWorkflowInput(job_id="job-1", account_id="default")
    )

    parts: dict[str, list[sync_pb2.KeyRange]] = {}
    async for event in handle.fetch_history_events():
        scheduled = event.activity_task_scheduled_event_attributes
        if event.HasField("activity_task_scheduled_event_attributes") and (
            scheduled.activity_type.name == "sync_table"
        ):
            [request] = client.data_converter.payload_converter.from_payloads(
                scheduled.input.payloads, [sync_pb2.SyncTableInput]
            )
            parts.setdefault(request.table.name, []).append(request.range)
    assert {name: len(ranges) for name, ranges in parts.items()} == {
        "customers": 1,
        "orders": 2,
        "order_items": 4,
    }
    assert [r.index for r in parts["order_items"]] == [0, 1, 2, 3]
    assert not parts["order_items"][0].HasField("after")
    assert not parts["order_items"][-1].HasField("until")
    counts = {t.table: (t.rows_read, t.rows_written) for t in result.progress.tables}
    assert counts == {
        "public.customers": (60, 60),
        "public.orders": (150, 150),
        "public.order_items": (400, 400),
    }
    for table in ("orders", "order_items"):
        query = f"SELECT * FROM {table} ORDER BY id"
        assert rows(destination, query) == rows(source, query)


async def test_a_long_run_continues_as_new_where_it_left_off(
    worker: tuple[Client, str, FakeDirectory], pg_database: Callable[[str], str]
) -> None:
    client, queue, directory = worker
    source, destination = shop_setup(pg_database, directory)
    request = sync_pb2.DataSyncWorkflowInput(
        job_id="job-1", account_id="default", max_history_events=1
    )

    handle, result = await _run(client, queue, request)

    # Each run starts one table (customers -> orders -> order_items) and hands on the rest.
    runs, events = [], []
    execution = handle.first_execution_run_id
    while execution:
        history = await client.get_workflow_handle(handle.id, run_id=execution).fetch_history()
        runs.append(execution)
        events.append(len(history.events))
        last = history.events[-1].workflow_execution_continued_as_new_event_attributes
        execution = last.new_execution_run_id or None
    assert len(runs) == 3
    assert max(events) < 60
    assert result.rows_read == result.rows_written == 610
    assert all(t.status == job_pb2.TABLE_SYNC_STATUS_SUCCEEDED for t in result.progress.tables)
    assert (
        result.progress.start_time.ToDatetime() <= result.progress.tables[0].start_time.ToDatetime()
    )
    for query in (
        "SELECT id, referred_by FROM customers ORDER BY id",
        "SELECT * FROM orders ORDER BY id",
        "SELECT * FROM order_items ORDER BY id",
    ):
        assert rows(destination, query) == rows(source, query)
