"""DataSyncWorkflow on a real Temporal dev server and real PostgreSQL databases."""

import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import psycopg
import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from services.common import contract
from services.common.errors import NotFoundError
from services.sync_worker.worker import MAX_CONCURRENT_ACTIVITIES, build_worker
from tests.integration.shop import SHOP_SQL, rows, shop_job
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2


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
