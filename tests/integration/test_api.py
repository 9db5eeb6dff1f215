"""The API over a real gRPC channel, with a real PostgreSQL source and Temporal dev server."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
import psycopg
import pytest
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status
from temporalio import workflow
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from services.common.contract import (
    DATA_SYNC_WORKFLOW,
    DEFAULT_ACCOUNT_ID,
    GET_SYNC_PROGRESS_QUERY,
)
from tests.integration.conftest import Api
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import connection_pb2 as c
from veilsync.v1 import job_pb2 as j
from veilsync.v1 import model_pb2 as m
from veilsync.v1 import transformer_pb2 as t

PASSWORD = "Tr0ub4dor-s3cret"
M = TypeVar("M", bound=Message)

SOURCE_SQL = """
CREATE TABLE customers (id serial PRIMARY KEY, email text, first_name text NOT NULL);
CREATE TABLE orders (id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers (id));
INSERT INTO customers (email, first_name) VALUES ('a@corp.test', 'Alice'), ('b@corp.test', 'Bob');
"""


@pytest.fixture
def source_url(pg_database: Callable[[str], str]) -> str:
    """A small PostgreSQL source; trust auth accepts any password, so the URL carries one."""
    url = pg_database("apisrc")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SOURCE_SQL)
    return url.replace("postgres@", f"postgres:{PASSWORD}@", 1)


async def expect_error(call: Awaitable[Any], code: grpc.StatusCode, *words: str) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code, caught.value.details()
    details = caught.value.details() or ""
    for word in words:
        assert word in details
    assert PASSWORD not in details
    return details


def job_message(name: str = "shop-to-qa", source: str = "prod", dest: str = "qa") -> j.Job:
    job = j.Job(
        name=name,
        source=j.JobSource(connection=source),
        destinations=[j.JobDestination(connection=dest, truncate_before_insert=True)],
    )
    mapping = job.mappings.add(table="public.customers")
    mapping.columns["email"].transform_email.preserve_domain = True
    return job


async def add_connections(api: Api, source_url: str) -> None:
    await api.connections.CreateConnection(c.CreateConnectionRequest(name="prod", url=source_url))
    await api.connections.CreateConnection(
        c.CreateConnectionRequest(name="qa", url=f"postgresql://qa:{PASSWORD}@qa.invalid/shop")
    )


async def test_connection_crud(api: Api) -> None:
    url = f"postgresql://app:{PASSWORD}@db.invalid:5432/shop"
    created = (
        await api.connections.CreateConnection(c.CreateConnectionRequest(name="prod", url=url))
    ).connection
    assert created.name == "prod" and created.id
    assert created.engine == c.ENGINE_POSTGRES
    assert created.redacted_url == "postgresql://app:***@db.invalid:5432/shop"
    by_id = await api.connections.GetConnection(
        c.GetConnectionRequest(connection=c.ConnectionRef(id=created.id))
    )
    by_name = await api.connections.GetConnection(
        c.GetConnectionRequest(connection=c.ConnectionRef(name="prod"))
    )
    assert by_id.connection == by_name.connection == created
    listed = await api.connections.ListConnections(c.ListConnectionsRequest())
    assert list(listed.connections) == [created] and not listed.next_page_token

    await expect_error(
        api.connections.CreateConnection(c.CreateConnectionRequest(name="prod", url=url)),
        grpc.StatusCode.ALREADY_EXISTS,
        "prod",
    )
    await api.connections.DeleteConnection(
        c.DeleteConnectionRequest(connection=c.ConnectionRef(name="prod"))
    )
    await expect_error(
        api.connections.GetConnection(
            c.GetConnectionRequest(connection=c.ConnectionRef(id=created.id))
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    await expect_error(
        api.connections.DeleteConnection(
            c.DeleteConnectionRequest(connection=c.ConnectionRef(name="prod"))
        ),
        grpc.StatusCode.NOT_FOUND,
        "prod",
    )


@pytest.mark.parametrize(
    ("name", "url", "field"),
    [
        ("", "postgresql://h/db", "name"),
        ("Not OK", "postgresql://h/db", "name"),
        ("x", "", "url"),
        ("x", f"ftp://u:{PASSWORD}@h/db", "url"),
        ("x", "sqlite:///", "url"),
    ],
)
async def test_bad_connection_requests(api: Api, name: str, url: str, field: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.connections.CreateConnection(c.CreateConnectionRequest(name=name, url=url))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (caught.value.details() or "").startswith(f"{field}:")
    status = rpc_status.from_call(caught.value)
    assert status is not None
    violation = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(violation)
    assert violation.field_violations[0].field == field
    listed = await api.connections.ListConnections(c.ListConnectionsRequest())
    assert not listed.connections


async def test_connections_page_in_name_order(api: Api) -> None:
    names = [f"db-{i}" for i in range(5)]
    for name in reversed(names):
        await api.connections.CreateConnection(
            c.CreateConnectionRequest(name=name, url=f"sqlite:///tmp/{name}.db")
        )
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = await api.connections.ListConnections(
            c.ListConnectionsRequest(page_size=2, page_token=token)
        )
        pages += 1
        seen += [conn.name for conn in page.connections]
        token = page.next_page_token
        if not token:
            break
    assert (seen, pages) == (names, 3)
    await expect_error(
        api.connections.ListConnections(c.ListConnectionsRequest(page_size=5000)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "page_size",
    )
    await expect_error(
        api.connections.ListConnections(c.ListConnectionsRequest(page_token="nope")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "page_token",
    )


async def test_check_connection(api: Api, source_url: str) -> None:
    await add_connections(api, source_url)
    stored = await api.connections.CheckConnection(
        c.CheckConnectionRequest(connection=c.ConnectionRef(name="prod"))
    )
    assert stored.reachable and stored.server_version and not stored.message
    down = await api.connections.CheckConnection(
        c.CheckConnectionRequest(url=f"postgresql://u:{PASSWORD}@127.0.0.1:1/none")
    )
    assert not down.reachable and down.message
    assert PASSWORD not in down.message
    await expect_error(
        api.connections.CheckConnection(c.CheckConnectionRequest(url="ftp://h/x")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "url",
    )
    await expect_error(
        api.connections.CheckConnection(c.CheckConnectionRequest()),
        grpc.StatusCode.INVALID_ARGUMENT,
    )


async def test_job_crud(api: Api, source_url: str) -> None:
    await add_connections(api, source_url)
    passphrase = "correct horse battery staple"
    sent = job_message()
    sent.transformer_versions["transform_email"] = 99  # output only: the API records its own
    created = (await api.jobs.CreateJob(j.CreateJobRequest(job=sent, transform_key=passphrase))).job
    assert created.id and created.create_time.seconds
    assert created.mappings[0].columns["email"].transform_email.preserve_domain
    assert dict(created.transformer_versions) == {"transform_email": 1}
    # Stretched once, on creation: the store holds the derived key, never the passphrase.
    stored = api.store.transform_key(DEFAULT_ACCOUNT_ID, created.id)
    assert passphrase.encode() not in stored and len(stored) == 43
    by_name = await api.jobs.GetJob(j.GetJobRequest(job=j.JobRef(name="shop-to-qa")))
    by_id = await api.jobs.GetJob(j.GetJobRequest(job=j.JobRef(id=created.id)))
    assert by_name.job == by_id.job == created
    # A generated key is fine too.
    await api.jobs.CreateJob(j.CreateJobRequest(job=job_message("second")))
    first = await api.jobs.ListJobs(j.ListJobsRequest(page_size=1))
    rest = await api.jobs.ListJobs(j.ListJobsRequest(page_size=1, page_token=first.next_page_token))
    assert [job.name for job in [*first.jobs, *rest.jobs]] == ["second", "shop-to-qa"]
    assert not rest.next_page_token

    await expect_error(
        api.jobs.CreateJob(j.CreateJobRequest(job=job_message())),
        grpc.StatusCode.ALREADY_EXISTS,
        "shop-to-qa",
    )
    await expect_error(
        api.connections.DeleteConnection(
            c.DeleteConnectionRequest(connection=c.ConnectionRef(name="qa"))
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "shop-to-qa",
    )
    await api.jobs.DeleteJob(j.DeleteJobRequest(job=j.JobRef(name="shop-to-qa")))
    await api.jobs.DeleteJob(j.DeleteJobRequest(job=j.JobRef(name="second")))
    await expect_error(
        api.jobs.GetJob(j.GetJobRequest(job=j.JobRef(id=created.id))), grpc.StatusCode.NOT_FOUND
    )
    await api.connections.DeleteConnection(
        c.DeleteConnectionRequest(connection=c.ConnectionRef(name="qa"))
    )


async def test_get_job_effective_writes_out_inherited_transformers(
    api: Api, source_url: str
) -> None:
    await add_connections(api, source_url)
    job = job_message()
    job.mappings[0].columns["id"].transform_scramble_identity.SetInParent()
    created = (await api.jobs.CreateJob(j.CreateJobRequest(job=job))).job
    ref = j.JobRef(name=created.name)
    assert (await api.jobs.GetJob(j.GetJobRequest(job=ref))).job == created
    effective = (await api.jobs.GetJob(j.GetJobRequest(job=ref, effective=True))).job
    assert effective.mappings[0] == created.mappings[0]
    [orders] = effective.mappings[1:]
    assert orders.table == "public.orders"
    assert dict(orders.columns) == {"customer_id": created.mappings[0].columns["id"]}

    # A reference mapped unlike its key is refused, naming both; the key's own is fine.
    other = job_message("other")
    other.mappings[0].columns["id"].CopyFrom(job.mappings[0].columns["id"])
    lines = other.mappings.add(table="orders")
    lines.columns["customer_id"].transform_int64.randomization_range_max = 3
    details = await expect_error(
        api.jobs.CreateJob(j.CreateJobRequest(job=other)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "public.orders.customer_id maps transform_int64",
        "references public.customers.id, which maps transform_scramble_identity",
    )
    assert details.startswith("job.mappings[1].columns[customer_id]"), details
    lines.columns["customer_id"].CopyFrom(job.mappings[0].columns["id"])
    await api.jobs.CreateJob(j.CreateJobRequest(job=other))

    # The source changed under the saved job: there is no mapping a run would apply.
    with psycopg.connect(source_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE customers DROP COLUMN email")
    await expect_error(
        api.jobs.GetJob(j.GetJobRequest(job=ref, effective=True)),
        grpc.StatusCode.FAILED_PRECONDITION,
        "no longer fits",
        "email",
    )


def _unknown_table(job: j.Job) -> None:
    job.mappings[0].table = "public.nope"


def _unknown_column(job: j.Job) -> None:
    job.mappings[0].columns["nope"].null.SetInParent()


def _no_destinations(job: j.Job) -> None:
    del job.destinations[:]


def _empty_name(job: j.Job) -> None:
    job.name = ""


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (_unknown_table, "job.mappings[0].table"),
        (_unknown_column, "job.mappings[0].columns"),
        (_no_destinations, "job.destinations"),
        (_empty_name, "job.name"),
    ],
)
async def test_invalid_jobs_are_not_stored(
    api: Api, source_url: str, change: Callable[[j.Job], None], field: str
) -> None:
    await add_connections(api, source_url)
    job = job_message()
    change(job)
    details = await expect_error(
        api.jobs.CreateJob(j.CreateJobRequest(job=job)), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert details.startswith(field), details
    assert not (await api.jobs.ListJobs(j.ListJobsRequest())).jobs


async def test_job_errors(api: Api, source_url: str) -> None:
    await add_connections(api, source_url)
    await expect_error(
        api.jobs.CreateJob(j.CreateJobRequest(job=job_message(dest="staging"))),
        grpc.StatusCode.NOT_FOUND,
        "staging",
    )
    await expect_error(
        api.jobs.CreateJob(j.CreateJobRequest(job=job_message(), transform_key="short")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "transform_key",
    )
    # Long enough, but a guesser's first try: refused, naming the field and the requirement.
    await expect_error(
        api.jobs.CreateJob(j.CreateJobRequest(job=job_message(), transform_key="k" * 20)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "transform_key",
        "at least 16 characters and about 64 bits of estimated entropy",
    )
    await expect_error(
        api.jobs.GetJob(j.GetJobRequest(job=j.JobRef(name="missing"))),
        grpc.StatusCode.NOT_FOUND,
        "missing",
    )
    await expect_error(api.jobs.GetJob(j.GetJobRequest()), grpc.StatusCode.INVALID_ARGUMENT, "job")
    assert not (await api.jobs.ListJobs(j.ListJobsRequest())).jobs


async def test_trigger_starts_a_sync_workflow(api: Api, source_url: str) -> None:
    await add_connections(api, source_url)
    job = (await api.jobs.CreateJob(j.CreateJobRequest(job=job_message()))).job
    run = (await api.jobs.TriggerJobRun(j.TriggerJobRunRequest(job=j.JobRef(id=job.id)))).run
    handle = api.temporal.get_workflow_handle(run.id)
    try:
        assert run.status == j.RUN_STATUS_RUNNING
        assert (run.job_id, run.job_name) == (job.id, job.name)
        description = await handle.describe()
        assert description.workflow_type == DATA_SYNC_WORKFLOW
        assert description.task_queue == api.settings.sync_task_queue
        assert description.status == WorkflowExecutionStatus.RUNNING

        got = (await api.jobs.GetJobRun(j.GetJobRunRequest(run_id=run.id))).run
        assert got.status == j.RUN_STATUS_RUNNING and not got.HasField("close_time")
        # No worker polls "sync" here: the run is waiting, with no table started.
        progress = (
            await api.jobs.GetJobRunProgress(j.GetJobRunProgressRequest(run_id=run.id))
        ).progress
        assert progress.status == j.RUN_STATUS_RUNNING and not progress.tables
        await expect_error(
            api.jobs.DeleteJob(j.DeleteJobRequest(job=j.JobRef(id=job.id))),
            grpc.StatusCode.FAILED_PRECONDITION,
            "in flight",
        )
    finally:
        # Leave nothing on the shared "sync" queue for a worker of another test to pick up.
        await handle.terminate(reason="test finished")
    ended = (await api.jobs.GetJobRun(j.GetJobRunRequest(run_id=run.id))).run
    assert ended.status == j.RUN_STATUS_TERMINATED
    assert ended.HasField("close_time")
    assert "test finished" in ended.failure_message
    await api.jobs.DeleteJob(j.DeleteJobRequest(job=j.JobRef(id=job.id)))
    await expect_error(
        api.jobs.GetJobRun(j.GetJobRunRequest(run_id=run.id)), grpc.StatusCode.NOT_FOUND
    )


async def test_unknown_runs_are_not_found(api: Api) -> None:
    await expect_error(
        api.jobs.GetJobRun(j.GetJobRunRequest(run_id="run-unknown")),
        grpc.StatusCode.NOT_FOUND,
        "run-unknown",
    )
    await expect_error(
        api.jobs.GetJobRunProgress(j.GetJobRunProgressRequest(run_id="run-unknown")),
        grpc.StatusCode.NOT_FOUND,
    )
    await expect_error(
        api.jobs.TriggerJobRun(j.TriggerJobRunRequest(job=j.JobRef(name="missing"))),
        grpc.StatusCode.NOT_FOUND,
    )


async def test_no_response_carries_a_password(api: Api, source_url: str) -> None:
    responses: list[Message] = []

    async def record(call: Awaitable[M]) -> M:
        response = await call
        responses.append(response)
        return response

    await record(
        api.connections.CreateConnection(c.CreateConnectionRequest(name="prod", url=source_url))
    )
    await record(
        api.connections.CreateConnection(
            c.CreateConnectionRequest(name="qa", url=f"postgresql://qa:{PASSWORD}@qa.invalid/x")
        )
    )
    await record(
        api.connections.GetConnection(
            c.GetConnectionRequest(connection=c.ConnectionRef(name="prod"))
        )
    )
    await record(api.connections.ListConnections(c.ListConnectionsRequest()))
    await record(
        api.connections.CheckConnection(
            c.CheckConnectionRequest(connection=c.ConnectionRef(name="qa"))
        )
    )
    job = await record(api.jobs.CreateJob(j.CreateJobRequest(job=job_message())))
    await record(api.jobs.GetJob(j.GetJobRequest(job=j.JobRef(id=job.job.id))))
    await record(api.jobs.ListJobs(j.ListJobsRequest()))
    assert len(responses) == 8
    for response in responses:
        assert PASSWORD.encode() not in response.SerializeToString()
        assert PASSWORD not in str(response)


async def test_transformers(api: Api) -> None:
    catalog = await api.transformers.GetSystemTransformers(t.GetSystemTransformersRequest())
    names = [info.name for info in catalog.transformers]
    assert "transform_email" in names and names == sorted(names)
    preview = await api.transformers.PreviewTransform(
        t.PreviewTransformRequest(
            config=t.TransformerConfig(mask=t.Mask(keep_first=1, keep_last=1)),
            values=["secret"],
        )
    )
    assert [out.value for out in preview.outputs] == ["s****t"]
    await expect_error(
        api.transformers.PreviewTransform(t.PreviewTransformRequest(values=["x"])),
        grpc.StatusCode.INVALID_ARGUMENT,
        "config",
    )


async def test_models_start_empty_and_unknown_ones_are_not_found(api: Api) -> None:
    assert list((await api.models.ListModels(m.ListModelsRequest())).models) == []
    await expect_error(api.models.GetModel(m.GetModelRequest(id="nope")), grpc.StatusCode.NOT_FOUND)


async def test_health_and_reflection(api: Api) -> None:
    health = health_pb2_grpc.HealthStub(api.channel)
    for service in ["", "veilsync.v1.JobService"]:
        reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    stub = reflection_pb2_grpc.ServerReflectionStub(api.channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    # One request, read to the end: the server closes the stream once the requests run out.
    services = {
        service.name
        async for reply in stub.ServerReflectionInfo(iter([request]))
        for service in reply.list_services_response.service
    }
    assert {
        "veilsync.v1.ConnectionService",
        "veilsync.v1.JobService",
        "veilsync.v1.TransformerService",
        "veilsync.v1.ModelService",
        "grpc.health.v1.Health",
    } <= services


@workflow.defn(name=DATA_SYNC_WORKFLOW)
class ScriptedSync:
    """Stands in for the sync worker: reports one half-done table, then ends as told."""

    def __init__(self) -> None:
        self._progress = sync_pb2.SyncProgress()
        self._outcome: str | None = None

    @workflow.run
    async def run(self, _: sync_pb2.DataSyncWorkflowInput) -> sync_pb2.DataSyncWorkflowResult:
        self._progress.start_time.FromDatetime(workflow.now())
        table = self._progress.tables.add(
            table="public.customers",
            status=j.TABLE_SYNC_STATUS_RUNNING,
            rows_read=5,
            rows_written=5,
            rows_total=10,
        )
        table.start_time.FromDatetime(workflow.now())
        await workflow.wait_condition(lambda: self._outcome is not None)
        if self._outcome:
            raise ApplicationError(self._outcome, type="DataRejected", non_retryable=True)
        table.status, table.rows_read, table.rows_total = j.TABLE_SYNC_STATUS_SUCCEEDED, 10, 10
        return sync_pb2.DataSyncWorkflowResult(progress=self._progress, rows_read=10)

    @workflow.query(name=GET_SYNC_PROGRESS_QUERY)
    def progress(self, _: sync_pb2.GetSyncProgressRequest) -> sync_pb2.GetSyncProgressResponse:
        return sync_pb2.GetSyncProgressResponse(progress=self._progress)

    @workflow.signal
    def finish(self, failure: str) -> None:
        self._outcome = failure


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(200):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition never held")


async def test_runs_report_progress_and_outcome(api: Api, source_url: str) -> None:
    await add_connections(api, source_url)
    job = (await api.jobs.CreateJob(j.CreateJobRequest(job=job_message()))).job
    trigger = j.TriggerJobRunRequest(job=j.JobRef(id=job.id))
    async with Worker(
        api.temporal,
        task_queue=api.settings.sync_task_queue,
        workflows=[ScriptedSync],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        run = (await api.jobs.TriggerJobRun(trigger)).run
        request = j.GetJobRunProgressRequest(run_id=run.id)

        async def reported() -> bool:
            return bool((await api.jobs.GetJobRunProgress(request)).progress.tables)

        await eventually(reported)
        live = (await api.jobs.GetJobRunProgress(request)).progress
        assert live.status == j.RUN_STATUS_RUNNING
        assert (live.tables[0].table, live.tables[0].percent) == ("public.customers", 50.0)
        assert (live.rows_read, live.rows_total, live.percent) == (5, 10, 50.0)

        handle = api.temporal.get_workflow_handle(run.id)
        await handle.signal(ScriptedSync.finish, "")
        await handle.result()
        done = (await api.jobs.GetJobRunProgress(request)).progress
        assert done.status == j.RUN_STATUS_SUCCEEDED
        assert (done.rows_read, done.percent) == (10, 100.0)
        succeeded = (await api.jobs.GetJobRun(j.GetJobRunRequest(run_id=run.id))).run
        assert succeeded.status == j.RUN_STATUS_SUCCEEDED and not succeeded.failure_message

        failing = (await api.jobs.TriggerJobRun(trigger)).run
        failing_handle = api.temporal.get_workflow_handle(failing.id)
        await failing_handle.signal(ScriptedSync.finish, "public.customers: value too long")
        with pytest.raises(WorkflowFailureError):
            await failing_handle.result()
        failed = (await api.jobs.GetJobRun(j.GetJobRunRequest(run_id=failing.id))).run
        assert failed.status == j.RUN_STATUS_FAILED
        assert failed.failure_message == "public.customers: value too long"
        after = (
            await api.jobs.GetJobRunProgress(j.GetJobRunProgressRequest(run_id=failing.id))
        ).progress
        assert after.status == j.RUN_STATUS_FAILED
        assert [table.rows_read for table in after.tables] == [5]
