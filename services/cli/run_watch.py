"""Follow a run until it ends, drawing one progress bar per table.

The API's WatchJobRunProgress stream pushes each change; when the stream breaks (an API
restart, a proxy that cuts long calls) the watch goes on by polling, so a long run is never
lost to a dropped connection.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import grpc
from google.protobuf import duration_pb2
from rich.progress import BarColumn, Progress, TaskID, TextColumn

from services.cli.api_client import DEFAULT_TIMEOUT_S, Api
from services.cli.errors import CliError
from services.cli.output import count, enum_label, err, out, seconds, table
from veilsync.v1 import job_pb2

POLL_INTERVAL_S = 0.5
# Without a terminal, the run's totals are printed this often (and at each table's change).
PLAIN_EVERY_S = 5.0
RUN_BAR = "run"


@dataclass(frozen=True)
class RunOutcome:
    run: job_pb2.JobRun
    progress: job_pb2.JobRunProgress


class _Bars:
    """The progress bars of one run, drawn on stderr when it is a terminal: one per table and
    one for the whole run, with rows/s and the time left as the API estimates them."""

    def __init__(self) -> None:
        self.latest = job_pb2.JobRunProgress()
        self._tasks: dict[str, TaskID] = {}
        self.progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            TextColumn("{task.fields[rows]}"),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.fields[status]:<10}"),
            TextColumn("{task.fields[eta]}"),
            console=err,
            transient=False,
        )

    def __enter__(self) -> None:
        self.progress.start()

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    def show(self, progress: job_pb2.JobRunProgress) -> None:
        self.latest = progress
        for t in progress.tables:
            self._bar(t.table, t, table_status_name(t.status))
        if progress.tables:
            self._bar(RUN_BAR, progress, "")

    def _bar(
        self, name: str, counts: job_pb2.TableRunProgress | job_pb2.JobRunProgress, status: str
    ) -> None:
        if name not in self._tasks:
            self._tasks[name] = self.progress.add_task(
                name, total=None, rows="", rate="", status="", eta=""
            )
        self.progress.update(
            self._tasks[name],
            completed=counts.rows_read,
            total=max(counts.rows_total, counts.rows_read) or None,
            rows=f"{count(counts.rows_read)}/{count(counts.rows_total)} rows",
            rate=f"{count(counts.rows_per_second)} rows/s",
            status=status,
            eta=f"eta {eta_text(counts.eta)}" if counts.HasField("eta") else "",
        )


class _Lines:
    """Progress as plain lines on stderr when it is no terminal (CI logs, pipes): a line when
    a table changes state, and the run's totals every few seconds."""

    def __init__(
        self,
        write: Callable[[str], None] = err.print,
        clock: Callable[[], float] = time.monotonic,
        every_s: float = PLAIN_EVERY_S,
    ) -> None:
        self.latest = job_pb2.JobRunProgress()
        self._write, self._clock, self._every = write, clock, every_s
        self._states: dict[str, int] = {}
        self._last: float | None = None

    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None

    def show(self, progress: job_pb2.JobRunProgress) -> None:
        self.latest = progress
        for t in progress.tables:
            if self._states.get(t.table) != t.status:
                self._states[t.table] = t.status
                self._write(table_line(t))
        now = self._clock()
        if progress.tables and (self._last is None or now - self._last >= self._every):
            self._last = now
            self._write(run_line(progress))


def table_line(t: job_pb2.TableRunProgress) -> str:
    """`public.orders: running, 1,200/5,000 rows, 300 rows/s, eta 0:00:12`."""
    return ", ".join(
        [
            f"{t.table}: {table_status_name(t.status)}",
            f"{count(t.rows_read)}/{count(t.rows_total)} rows",
            *_rate_and_eta(t),
        ]
    )


def run_line(progress: job_pb2.JobRunProgress) -> str:
    """`run: 1,200/9,000 rows (13%), 300 rows/s, eta 0:00:26`."""
    rows = f"{count(progress.rows_read)}/{count(progress.rows_total)} rows"
    return ", ".join([f"{RUN_BAR}: {rows} ({progress.percent:.0f}%)", *_rate_and_eta(progress)])


def _rate_and_eta(progress: job_pb2.TableRunProgress | job_pb2.JobRunProgress) -> list[str]:
    rate = f"{count(progress.rows_per_second)} rows/s"
    return [rate, f"eta {eta_text(progress.eta)}"] if progress.HasField("eta") else [rate]


def eta_text(eta: duration_pb2.Duration) -> str:
    return str(timedelta(seconds=round(seconds(eta))))


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


def _stream(api: Api, run_id: str, bars: _Bars | _Lines, deadline: float | None) -> bool:
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


def _poll(api: Api, run_id: str, bars: _Bars | _Lines, deadline: float | None) -> None:
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
    bars: _Bars | _Lines = _Bars() if err.is_terminal else _Lines()
    with bars:
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
            *map(count, (t.rows_read, t.rows_written, t.rows_skipped)),
        )
    out.print(grid)
    out.print(
        f"{status_name(outcome.run.status)}: {len(progress.tables)} tables, "
        f"{count(progress.rows_read)} rows read, {count(progress.rows_written)} written "
        f"in {seconds(progress.elapsed):.1f}s ({count(progress.rows_per_second)} rows/s)"
    )


def raise_unless_succeeded(run: job_pb2.JobRun) -> None:
    if run.status != job_pb2.RUN_STATUS_SUCCEEDED:
        reason = run.failure_message or "no reason given"
        raise CliError(f"run {run.id} {status_name(run.status)}: {reason}")
