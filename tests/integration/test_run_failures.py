"""A run's failure through the real API: the reason an activity gave, decrypted from
history, in GetJobRun and GetJobRunEvents; a long one cut to its head, never replaced by the
server's "Failure exceeds size limit."."""

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from services.common.contract import ML_TASK_QUEUE
from services.engine.copy.table_copy import CHUNK_ROWS
from services.sync_worker.activities import SyncActivities
from services.sync_worker.worker import progress_sender
from services.sync_worker.workflows import DataSyncWorkflow
from tests.integration.conftest import Api
from tests.integration.test_api_runs import shop_api_job, shop_connections
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2 as j

REASON = "the destination refused table public.customers: disk quota exceeded"
# Far over the server's 4 KiB limit on a retried activity's stored failure.
LONG_HEAD = "first attempt broke: "
LONG_REASON = LONG_HEAD + "x" * 20_000


@activity.defn(name="sync_table")
async def failing_sync_table(request: sync_pb2.SyncTableInput) -> sync_pb2.SyncTableResult:
    if activity.info().attempt == 1:
        raise ApplicationError(LONG_REASON)
    raise ApplicationError(REASON, non_retryable=True)


@activity.defn(name="sync_tables")
async def failing_sync_tables(request: sync_pb2.SyncTablesInput) -> sync_pb2.SyncTablesResult:
    raise ApplicationError(REASON, non_retryable=True)


@pytest.fixture
async def failing_worker(api: Api) -> AsyncIterator[None]:
    """The real workflow and planning, with table copies that fail as a worker's would."""
    sender = progress_sender(api.temporal, asyncio.get_running_loop())
    real = SyncActivities(api.store, sender, CHUNK_ROWS, ML_TASK_QUEUE, False)
    copies = {"sync_table", "sync_tables"}
    kept = [a for a in real.all() if activity._Definition.must_from_callable(a).name not in copies]
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with Worker(
            api.temporal,
            task_queue=api.settings.sync_task_queue,
            workflows=[DataSyncWorkflow],
            activities=[*kept, failing_sync_table, failing_sync_tables],
            activity_executor=executor,
        ):
            yield


async def test_a_failed_run_shows_its_reason_and_the_head_of_a_long_one(
    api: Api, failing_worker: None, pg_database: Callable[[str], str]
) -> None:
    await shop_connections(api, pg_database)
    job = (await api.jobs.CreateJob(j.CreateJobRequest(job=shop_api_job()))).job
    run = (await api.jobs.TriggerJobRun(j.TriggerJobRunRequest(job=j.JobRef(id=job.id)))).run
    with pytest.raises(WorkflowFailureError):
        await api.temporal.get_workflow_handle(run.id).result()

    failed = (await api.jobs.GetJobRun(j.GetJobRunRequest(run_id=run.id))).run
    assert failed.status == j.RUN_STATUS_FAILED
    assert failed.failure_message == REASON

    events = (await api.jobs.GetJobRunEvents(j.GetJobRunEventsRequest(run_id=run.id))).events
    messages = {e.kind: e.message for e in events if e.message}
    assert messages[j.TABLE_EVENT_KIND_FAILED] == REASON
    retried = messages[j.TABLE_EVENT_KIND_RETRIED]
    assert retried.startswith(LONG_HEAD + "x" * 100)
    more = len(LONG_REASON) - 2_000
    assert retried.endswith(f"… ({more} more characters)")
    assert len(retried) < 2_100
