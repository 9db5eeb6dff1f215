"""How runs are found in Temporal's visibility store: search attributes naming the account
and the job of every run, so listing and scoping need no table of our own (scheduled runs are
started by Temporal, not by the API)."""

from datetime import datetime

from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)

from services.common.contract import DATA_SYNC_WORKFLOW, GENERATE_WORKFLOW
from veilsync.v1 import job_pb2

ACCOUNT = SearchAttributeKey.for_keyword("VeilsyncAccountId")
JOB = SearchAttributeKey.for_keyword("VeilsyncJobId")
# Marks the workflow ids a job's schedule gives its runs (Temporal appends the time).
SCHEDULED_MARK = "-scheduled"

_STATUS_NAMES = {
    job_pb2.RUN_STATUS_RUNNING: "Running",
    job_pb2.RUN_STATUS_SUCCEEDED: "Completed",
    job_pb2.RUN_STATUS_FAILED: "Failed",
    job_pb2.RUN_STATUS_CANCELED: "Canceled",
    job_pb2.RUN_STATUS_TERMINATED: "Terminated",
    job_pb2.RUN_STATUS_TIMED_OUT: "TimedOut",
}


def run_attributes(account_id: str, job_id: str) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [SearchAttributePair(ACCOUNT, account_id), SearchAttributePair(JOB, job_id)]
    )


def owner(attributes: TypedSearchAttributes) -> tuple[str | None, str | None]:
    return attributes.get(ACCOUNT), attributes.get(JOB)


def scheduled_run_id(job_id: str) -> str:
    return f"run-{job_id}{SCHEDULED_MARK}"


def is_scheduled(run_id: str) -> bool:
    return SCHEDULED_MARK + "-" in run_id


def runs_query(
    account_id: str,
    job_id: str,
    status: "job_pb2.RunStatus.ValueType" = job_pb2.RUN_STATUS_UNSPECIFIED,
    start_from: datetime | None = None,
    start_to: datetime | None = None,
) -> str:
    """A visibility query; the ids in it come from the store and the key check, not the
    caller, and are quoted anyway."""
    terms = [
        f"WorkflowType IN ({_quote(DATA_SYNC_WORKFLOW)}, {_quote(GENERATE_WORKFLOW)})",
        f"{ACCOUNT.name} = {_quote(account_id)}",
        f"{JOB.name} = {_quote(job_id)}",
        # A run that continued as new lives on under the same id: list the latest run only.
        'ExecutionStatus != "ContinuedAsNew"',
    ]
    if status != job_pb2.RUN_STATUS_UNSPECIFIED:
        terms.append(f"ExecutionStatus = {_quote(_STATUS_NAMES[status])}")
    if start_from is not None:
        terms.append(f"StartTime >= {_quote(start_from.isoformat())}")
    if start_to is not None:
        terms.append(f"StartTime < {_quote(start_to.isoformat())}")
    return " AND ".join(terms)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
