"""Job runs: Temporal's view of a workflow execution as an API JobRun."""

from dataclasses import dataclass
from datetime import datetime

from temporalio.client import WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError

from services.common.failures import head
from services.common.logging import scrub
from veilsync.v1 import job_pb2

# What a failure's message reads when its text is in its encrypted attributes.
ENCODED_FAILURE = "Encoded failure"

_STATUSES = {
    WorkflowExecutionStatus.RUNNING: job_pb2.RUN_STATUS_RUNNING,
    # A run that continued as new goes on in the next execution of the same workflow id.
    WorkflowExecutionStatus.CONTINUED_AS_NEW: job_pb2.RUN_STATUS_RUNNING,
    WorkflowExecutionStatus.COMPLETED: job_pb2.RUN_STATUS_SUCCEEDED,
    WorkflowExecutionStatus.FAILED: job_pb2.RUN_STATUS_FAILED,
    WorkflowExecutionStatus.CANCELED: job_pb2.RUN_STATUS_CANCELED,
    WorkflowExecutionStatus.TERMINATED: job_pb2.RUN_STATUS_TERMINATED,
    WorkflowExecutionStatus.TIMED_OUT: job_pb2.RUN_STATUS_TIMED_OUT,
}


@dataclass(frozen=True)
class RunState:
    """What Temporal knows about one run."""

    status: job_pb2.RunStatus.ValueType
    start_time: datetime | None
    close_time: datetime | None
    failure_message: str = ""
    verification: job_pb2.RunVerification | None = None  # a sync run's check of its result


def run_status(status: WorkflowExecutionStatus | None) -> job_pb2.RunStatus.ValueType:
    if status is None:
        return job_pb2.RUN_STATUS_UNSPECIFIED
    return _STATUSES.get(status, job_pb2.RUN_STATUS_UNSPECIFIED)


def failure_message(error: BaseException) -> str:
    """The innermost ApplicationError's message in a failure's cause chain: the reason an
    activity or the workflow gave, rather than Temporal's wrappers around it; its head only
    when it is long."""
    innermost: BaseException = error
    application: ApplicationError | None = None
    current: BaseException | None = error
    while current is not None:
        innermost = current
        if isinstance(current, ApplicationError):
            application = current
        current = current.__cause__
    chosen = application if application is not None else innermost
    text = chosen.message if isinstance(chosen, ApplicationError) else str(chosen)
    if text == ENCODED_FAILURE:
        # The server replaced a failure over its size limit, dropping the encrypted part.
        return "the failure was too large for Temporal to keep; the worker's log has it"
    return head(scrub(text))


def failed_verification(error: BaseException) -> job_pb2.RunVerification | None:
    """The verification a run failed, carried in the details of an application error of its
    failure's cause chain; None when the run failed otherwise."""
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, ApplicationError):
            for detail in current.details:
                if isinstance(detail, job_pb2.RunVerification):
                    return detail
        current = current.__cause__
    return None


def run_to_proto(
    run_id: str, job_id: str, job_name: str, state: RunState, *, scheduled: bool = False
) -> job_pb2.JobRun:
    run = job_pb2.JobRun(
        id=run_id,
        job_id=job_id,
        job_name=job_name,
        status=state.status,
        failure_message=state.failure_message,
        scheduled=scheduled,
        verification=state.verification,
    )
    if state.start_time is not None:
        run.start_time.FromDatetime(state.start_time)
    if state.close_time is not None:
        run.close_time.FromDatetime(state.close_time)
    return run
