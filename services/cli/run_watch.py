"""Follow a run until it ends, drawing one progress bar per table."""

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
from services.cli.output import err, out, seconds, table
from veilsync.v1 import job_pb2

POLL_INTERVAL_S = 0.5


@dataclass(frozen=True)
class RunOutcome:
    run: job_pb2.JobRun
    progress: job_pb2.JobRunProgress


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


def wait_for_run(api: Api, run_id: str, timeout_s: float | None = None) -> RunOutcome:
    """Poll until the run leaves RUNNING; the last run and progress seen."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    tasks: dict[str, TaskID] = {}
    latest = job_pb2.JobRunProgress()
    bars = Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]:<10}"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )
    with bars:
        while True:
            run = _run(api, run_id)
            progress = _progress(api, run_id)
            if progress is not None:
                latest = progress
                for t in progress.tables:
                    if t.table not in tasks:
                        tasks[t.table] = bars.add_task(t.table, status="", total=None)
                    bars.update(
                        tasks[t.table],
                        completed=t.rows_read,
                        total=max(t.rows_total, t.rows_read) or None,
                        status=job_pb2.TableSyncStatus.Name(t.status)
                        .removeprefix("TABLE_SYNC_STATUS_")
                        .lower(),
                    )
            if run.status != job_pb2.RUN_STATUS_RUNNING:
                final = _progress(api, run_id)
                return RunOutcome(run=run, progress=final if final is not None else latest)
            if deadline is not None and time.monotonic() > deadline:
                raise CliError(f"run {run_id} still running after {timeout_s:.0f}s")
            time.sleep(POLL_INTERVAL_S)


def status_name(status: "job_pb2.RunStatus.ValueType") -> str:
    return job_pb2.RunStatus.Name(status).removeprefix("RUN_STATUS_").lower()


def print_summary(outcome: RunOutcome) -> None:
    progress = outcome.progress
    grid = table("TABLE", "STATUS", "READ", "WRITTEN", "SKIPPED", title=f"run {outcome.run.id}")
    for t in progress.tables:
        name = job_pb2.TableSyncStatus.Name(t.status).removeprefix("TABLE_SYNC_STATUS_").lower()
        grid.add_row(t.table, name, str(t.rows_read), str(t.rows_written), str(t.rows_skipped))
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
