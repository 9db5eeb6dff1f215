"""Job runs in Temporal: start them, ask their state, read their progress. Temporal's
errors are translated to domain errors here, once."""

import logging
from collections.abc import Iterable
from datetime import timedelta
from uuid import uuid4

from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from services.api.mapping.runs import RunState, failure_message, run_status
from services.common.contract import DATA_SYNC_WORKFLOW, GET_SYNC_PROGRESS_QUERY, SYNC_TASK_QUEUE
from services.common.errors import NotFoundError
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2

_log = logging.getLogger(__name__)

# A worker answers a query; when none is polling, give up soon and report no progress.
QUERY_TIMEOUT = timedelta(seconds=5)
# Started, task scheduled, task started, task completed: before that no worker has run the
# workflow, and a query would only wait for one.
_EVENTS_BEFORE_QUERYABLE = 4
_CLOSED_WITH_ERROR = {
    job_pb2.RUN_STATUS_FAILED,
    job_pb2.RUN_STATUS_TERMINATED,
    job_pb2.RUN_STATUS_TIMED_OUT,
}

Handle = WorkflowHandle[object, sync_pb2.DataSyncWorkflowResult]


class RunControl:
    def __init__(self, client: Client) -> None:
        self._client = client

    async def start(self, account_id: str, job_id: str) -> str:
        """Start a run of the job; its id is the workflow id."""
        run_id = f"run-{uuid4().hex}"
        await self._client.start_workflow(
            DATA_SYNC_WORKFLOW,
            sync_pb2.DataSyncWorkflowInput(job_id=job_id, account_id=account_id),
            id=run_id,
            task_queue=SYNC_TASK_QUEUE,
        )
        return run_id

    async def state(self, run_id: str) -> RunState:
        handle = self._handle(run_id)
        description = await _describe(handle, run_id)
        status = run_status(description.status)
        message = ""
        if status in _CLOSED_WITH_ERROR:
            try:
                await handle.result()
            except WorkflowFailureError as err:
                message = failure_message(err)
        return RunState(status, description.start_time, description.close_time, message)

    async def any_running(self, run_ids: Iterable[str]) -> bool:
        for run_id in run_ids:
            try:
                description = await _describe(self._handle(run_id), run_id)
            except NotFoundError:
                continue  # Temporal forgot it after its retention period: long finished.
            if run_status(description.status) == job_pb2.RUN_STATUS_RUNNING:
                return True
        return False

    async def progress(
        self, run_id: str
    ) -> tuple[sync_pb2.SyncProgress, job_pb2.RunStatus.ValueType]:
        handle = self._handle(run_id)
        description = await _describe(handle, run_id)
        status = run_status(description.status)
        if status == job_pb2.RUN_STATUS_SUCCEEDED:
            result = await handle.result()
            return result.progress, status
        progress = sync_pb2.SyncProgress()
        if description.history_length >= _EVENTS_BEFORE_QUERYABLE:
            progress = await self._query(handle, run_id)
        if not progress.HasField("start_time"):
            progress.start_time.FromDatetime(description.start_time)
            if description.close_time is not None:
                progress.end_time.FromDatetime(description.close_time)
        return progress, status

    async def _query(self, handle: Handle, run_id: str) -> sync_pb2.SyncProgress:
        try:
            response = await handle.query(
                GET_SYNC_PROGRESS_QUERY,
                sync_pb2.GetSyncProgressRequest(),
                result_type=sync_pb2.GetSyncProgressResponse,
                rpc_timeout=QUERY_TIMEOUT,
            )
        except (WorkflowQueryFailedError, RPCError) as err:
            # Progress is a convenience: a run whose worker is away still has a state.
            _log.warning("progress query of %s failed: %s", run_id, err)
            return sync_pb2.SyncProgress()
        if not isinstance(response, sync_pb2.GetSyncProgressResponse):
            return sync_pb2.SyncProgress()
        return response.progress

    def _handle(self, run_id: str) -> Handle:
        return self._client.get_workflow_handle(run_id, result_type=sync_pb2.DataSyncWorkflowResult)


async def _describe(handle: Handle, run_id: str) -> WorkflowExecutionDescription:
    try:
        return await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise NotFoundError(f'run "{run_id}" not found in Temporal') from err
        raise
