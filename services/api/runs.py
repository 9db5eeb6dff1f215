"""Job runs in Temporal: start, find, describe, stop them and read their progress. Temporal's
errors are translated to domain errors here, once."""

import base64
import binascii
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from uuid import uuid4

from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from services.api import run_search
from services.api.mapping.runs import (
    RunState,
    failed_verification,
    failure_message,
    run_status,
)
from services.common.contract import DATA_SYNC_WORKFLOW, GENERATE_WORKFLOW
from services.common.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError
from services.contract.sync_worker_temporal import GET_SYNC_PROGRESS_QUERY
from veilsync.temporal.v1 import generate_pb2, sync_pb2
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


@dataclass(frozen=True)
class ListedRun:
    id: str
    job_id: str
    state: RunState


@dataclass(frozen=True)
class RunPage:
    runs: list[ListedRun]
    next_page_token: str


class RunControl:
    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    @property
    def client(self) -> Client:
        return self._client

    async def start(self, account_id: str, job: job_pb2.Job) -> str:
        """Start a run of the job; its id is the workflow id."""
        run_id = f"run-{job.id}-{uuid4().hex[:12]}"
        await self._client.start_workflow(
            workflow_type(job),
            workflow_input(account_id, job),
            id=run_id,
            task_queue=self._task_queue,
            execution_timeout=run_timeout(job),
            search_attributes=run_search.run_attributes(account_id, job.id),
        )
        return run_id

    async def describe(self, run_id: str) -> WorkflowExecutionDescription:
        """The run's latest execution; NotFoundError when Temporal has no such run. An RPC
        describes a run once and hands the description to the steps below."""
        try:
            return await self._handle(run_id).describe()
        except RPCError as err:
            if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                raise NotFoundError(f'run "{run_id}" not found') from err
            raise

    async def state(self, run_id: str, description: WorkflowExecutionDescription) -> RunState:
        """The run's state; once a sync run has ended, with its verification when it got as
        far: from its result, or from the failure it raised."""
        status = run_status(description.status)
        message, verification = "", None
        if status in _CLOSED_WITH_ERROR:
            try:
                await self._handle(run_id).result()
            except WorkflowFailureError as err:
                message, verification = failure_message(err), failed_verification(err)
        elif (
            status == job_pb2.RUN_STATUS_SUCCEEDED
            and description.workflow_type == DATA_SYNC_WORKFLOW
        ):
            result = await self._handle(run_id).result()
            if result.HasField("verification"):
                verification = result.verification
        return RunState(
            status, description.start_time, description.close_time, message, verification
        )

    async def closed(self, run_id: str) -> None:
        """Returns once the run has closed, however it ended (or the wait itself failed)."""
        with contextlib.suppress(Exception):
            await self._handle(run_id).result()

    async def job_has_running(self, account_id: str, job_id: str) -> bool:
        query = run_search.runs_query(account_id, job_id, job_pb2.RUN_STATUS_RUNNING)
        async for _ in self._client.list_workflows(query, limit=1):
            return True
        return False

    async def list(
        self,
        query: str,
        page_size: int,
        page_token: str,
    ) -> RunPage:
        iterator = self._client.list_workflows(
            query, page_size=page_size, next_page_token=_decode_token(page_token)
        )
        try:
            await iterator.fetch_next_page()
        except RPCError as err:
            if err.status == RPCStatusCode.INVALID_ARGUMENT:
                raise InvalidArgumentError("page_token", "not a token this API returned") from err
            raise
        runs = [_listed(execution) for execution in iterator.current_page or []]
        token = iterator.next_page_token or b""
        return RunPage(runs, base64.urlsafe_b64encode(token).decode() if token else "")

    async def cancel(self, run_id: str, description: WorkflowExecutionDescription) -> None:
        _require_running(run_id, description)
        await self._handle(run_id).cancel()

    async def terminate(
        self, run_id: str, description: WorkflowExecutionDescription, reason: str
    ) -> None:
        _require_running(run_id, description)
        try:
            await self._handle(run_id).terminate(reason=reason or "terminated through the API")
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:  # it ended in between
                raise FailedPreconditionError(f'run "{run_id}" is not running') from err
            raise

    async def progress(
        self, run_id: str, description: WorkflowExecutionDescription | None = None
    ) -> tuple[sync_pb2.SyncProgress, job_pb2.RunStatus.ValueType]:
        """The run's progress and status; described afresh unless `description` is given."""
        handle = self._handle(run_id)
        description = description or await self.describe(run_id)
        status = run_status(description.status)
        if status == job_pb2.RUN_STATUS_SUCCEEDED:
            result = await handle.result()
            return result.progress, status
        progress = sync_pb2.SyncProgress()
        if description.history_length >= _EVENTS_BEFORE_QUERYABLE:
            progress = await self._query(handle, run_id)
        if not progress.HasField("start_time"):
            progress.start_time.FromDatetime(description.start_time)
        # A run that failed or was canceled never recorded its end: it ended when it closed.
        if description.close_time is not None and not progress.HasField("end_time"):
            progress.end_time.FromDatetime(description.close_time)
        return progress, status

    async def _query(self, handle: Handle, run_id: str) -> sync_pb2.SyncProgress:
        try:
            response = await GET_SYNC_PROGRESS_QUERY.query(
                handle, sync_pb2.GetSyncProgressRequest(), rpc_timeout=QUERY_TIMEOUT
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


def workflow_type(job: job_pb2.Job) -> str:
    """A generate job's runs are GenerateWorkflow runs, every other job's a data sync's."""
    return GENERATE_WORKFLOW if job.HasField("generate") else DATA_SYNC_WORKFLOW


def run_timeout(job: job_pb2.Job) -> timedelta | None:
    """The job's limit on a whole run (the workflow's execution timeout), if it sets one."""
    options = job.run_options
    return options.run_timeout.ToTimedelta() if options.HasField("run_timeout") else None


def workflow_input(
    account_id: str, job: job_pb2.Job
) -> sync_pb2.DataSyncWorkflowInput | generate_pb2.GenerateWorkflowInput:
    if job.HasField("generate"):
        return generate_pb2.GenerateWorkflowInput(
            job_id=job.id, account_id=account_id, run_options=job.run_options
        )
    return sync_pb2.DataSyncWorkflowInput(
        job_id=job.id, account_id=account_id, run_options=job.run_options
    )


def owner(description: WorkflowExecutionDescription) -> tuple[str | None, str | None]:
    """(account id, job id) a run belongs to."""
    return run_search.owner(description.typed_search_attributes)


def _require_running(run_id: str, description: WorkflowExecutionDescription) -> None:
    if run_status(description.status) != job_pb2.RUN_STATUS_RUNNING:
        raise FailedPreconditionError(f'run "{run_id}" is not running')


def _listed(execution: WorkflowExecution) -> ListedRun:
    _, job_id = run_search.owner(execution.typed_search_attributes)
    state = RunState(run_status(execution.status), execution.start_time, execution.close_time)
    return ListedRun(execution.id, job_id or "", state)


def _decode_token(token: str) -> bytes | None:
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(token.encode())
    except (binascii.Error, ValueError) as err:
        raise InvalidArgumentError("page_token", "not a token this API returned") from err
