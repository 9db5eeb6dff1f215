"""Follow a run until it ends, drawing one progress bar per table.

The API's WatchJobRunProgress stream pushes each change; when the stream breaks (an API
restart, a proxy that cuts long calls) the watch goes on by polling, so a long run is never
lost to a dropped connection.
"""

import time
from dataclasses import dataclass

import grpc
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from services.cli.api_client import DEFAULT_TIMEOUT_S, Api
from services.cli.errors import CliError
from services.cli.output import enum_label, err, out, seconds, table
from veilsync.v1 import job_pb2

POLL_INTERVAL_S = 0.5


@dataclass(frozen=True)
class RunOutcome:
    run: job_pb2.JobRun
    progress: job_pb2.JobRunProgress


class _Bars:
    """The progress bars of one run, drawn on stderr."""

    def __init__(self) -> None:
        self.latest = job_pb2.JobRunProgress()
        self._tasks: dict[str, TaskID] = {}
        self.progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]:<10}"),
            TimeRemainingColumn(),
            console=err,
            transient=False,
        )

    def show(self, progress: job_pb2.JobRunProgress) -> None:
        self.latest = progress
        for t in progress.tables:
            if t.table not in self._tasks:
                self._tasks[t.table] = self.progress.add_task(t.table, status="", total=None)
            self.progress.update(
                self._tasks[t.table],
                completed=t.rows_read,
                total=max(t.rows_total, t.rows_read) or None,
                status=table_status_name(t.status),
            )


def _progress(api: Api, run_id: str) -> job_pb2.JobRunProgress | None:
    try:
        response = api.jobs.GetJobRunProgress(
            job_pb2.GetJobRunProgressRequest(run_id=run_id), timeout=DEFAULT_TIMEOUT_S
        )
    except grpc.RpcError:
        # Progress is best effort while the run starts (no worker has picked it up yet, the
        # query may not be answerable); the run's own status decides when to stop.
        return None
    return response.progress


def _run(api: Api, run_id: str) -> job_pb2.JobRun:
    request = job_pb2.GetJobRunRequest(run_id=run_id)
    return api.jobs.GetJobRun(request, timeout=DEFAULT_TIMEOUT_S).run


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


def _stream(api: Api, run_id: str, bars: _Bars, deadline: float | None) -> bool:
    """Draw what the stream sends; True when it ended with the run, False when it broke."""
    request = job_pb2.WatchJobRunProgressRequest(run_id=run_id)
    try:
        for response in api.jobs.WatchJobRunProgress(request, timeout=_remaining(deadline)):
            bars.show(response.progress)
    except grpc.RpcError as error:
        code = error.code() if isinstance(error, grpc.Call) else None
        if code == grpc.StatusCode.DEADLINE_EXCEEDED and deadline is not None:
            return False  # the poll loop reports the timeout with the run's state
        if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.NOT_FOUND):
            raise  # polling would be refused the same way
        err.print(f"progress stream broke ({code.name if code else error}); polling instead")
        return False
    return bars.latest.status not in (
        job_pb2.RUN_STATUS_UNSPECIFIED,
        job_pb2.RUN_STATUS_RUNNING,
    )


def _poll(api: Api, run_id: str, bars: _Bars, deadline: float | None) -> None:
    """Poll until the run leaves RUNNING or the deadline passes."""
    while True:
        run = _run(api, run_id)
        progress = _progress(api, run_id)
        if progress is not None:
            bars.show(progress)
        if run.status != job_pb2.RUN_STATUS_RUNNING:
            return
        if deadline is not None and time.monotonic() > deadline:
            return
        time.sleep(POLL_INTERVAL_S)


def wait_for_run(api: Api, run_id: str, timeout_s: float | None = None) -> RunOutcome:
    """Watch the run until it ends; the final run and the last progress seen."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    bars = _Bars()
    with bars.progress:
        if not _stream(api, run_id, bars, deadline):
            _poll(api, run_id, bars, deadline)
    run = _run(api, run_id)
    if run.status == job_pb2.RUN_STATUS_RUNNING:
        raise CliError(f"run {run_id} still running after {timeout_s or 0:.0f}s")
    # The run's result holds the final counts even when the last push or poll came earlier.
    final = _progress(api, run_id)
    return RunOutcome(run=run, progress=final if final is not None else bars.latest)


def table_status_name(status: "job_pb2.TableSyncStatus.ValueType") -> str:
    return enum_label(job_pb2.TableSyncStatus, status, "TABLE_SYNC_STATUS_")


def status_name(status: "job_pb2.RunStatus.ValueType") -> str:
    return enum_label(job_pb2.RunStatus, status, "RUN_STATUS_")


def print_summary(outcome: RunOutcome) -> None:
    progress = outcome.progress
    grid = table("TABLE", "STATUS", "READ", "WRITTEN", "SKIPPED", title=f"run {outcome.run.id}")
    for t in progress.tables:
        grid.add_row(
            t.table,
            table_status_name(t.status),
            str(t.rows_read),
            str(t.rows_written),
            str(t.rows_skipped),
        )
    out.print(grid)
    out.print(
        f"{status_name(outcome.run.status)}: {len(progress.tables)} tables, "
        f"{progress.rows_read} rows read, {progress.rows_written} written "
        f"in {seconds(progress.elapsed):.1f}s"
    )


def raise_unless_succeeded(run: job_pb2.JobRun) -> None:
    if run.status != job_pb2.RUN_STATUS_SUCCEEDED:
        reason = run.failure_message or "no reason given"
        raise CliError(f"run {run.id} {status_name(run.status)}: {reason}")
