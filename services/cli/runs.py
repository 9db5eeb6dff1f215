"""`veilsync runs ...`: runs' state, progress and history, and stopping them."""

from collections.abc import Iterator
from itertools import islice

import click

from services.cli.api_client import DEFAULT_TIMEOUT_S, Api, open_api, paged
from services.cli.context import CliContext, pass_cli
from services.cli.errors import EXIT_FAILED_PRECONDITION, CliError
from services.cli.output import (
    count,
    enum_label,
    json_option,
    out,
    print_json,
    seconds,
    table,
    when,
)
from services.cli.run_report import print_evaluations, print_report, summary
from services.cli.run_watch import (
    print_summary,
    raise_unless_succeeded,
    run_line,
    status_name,
    table_status_name,
    wait_for_run,
)
from veilsync.v1 import job_pb2

_STATUSES = [
    enum_label(job_pb2.RunStatus, value, "RUN_STATUS_")
    for value in job_pb2.RunStatus.values()
    if value != job_pb2.RUN_STATUS_UNSPECIFIED
]


@click.group()
def runs() -> None:
    """Inspect, watch and stop job runs."""


@runs.command("get")
@click.argument("run_id")
@json_option()
@pass_cli
def get(cli: CliContext, run_id: str, as_json: bool) -> None:
    """Show a run's status, failure reason and its verification of what it wrote."""
    with open_api(cli.settings) as api:
        run = api.jobs.GetJobRun(
            job_pb2.GetJobRunRequest(run_id=run_id), timeout=DEFAULT_TIMEOUT_S
        ).run
    if as_json:
        print_json(run)
        return
    out.print(f"run:     {run.id}")
    out.print(f"job:     {run.job_name} ({run.job_id})")
    out.print(f"status:  {status_name(run.status)}")
    out.print(f"started: {when(run.start_time)}")
    out.print(f"closed:  {when(run.close_time)}")
    if run.failure_message:
        out.print(f"failure: {run.failure_message}")
    if run.HasField("verification"):
        _print_verification(run.verification)
        if run.verification.HasField("privacy"):
            out.print(summary(run.verification.privacy))


@runs.command("report")
@click.argument("run_id")
@json_option()
@pass_cli
def report(cli: CliContext, run_id: str, as_json: bool) -> None:
    """Show a run's privacy report: values left unchanged per transformed column, PII left in
    clear, frequency-linkage risks, k-anonymity and each synthesized table's model quality
    and privacy (DCR) on held-out rows, with the findings that failed the run. --json prints
    the privacy report alone; `runs progress --json` has the model evaluations."""
    with open_api(cli.settings) as api:
        run = api.jobs.GetJobRun(
            job_pb2.GetJobRunRequest(run_id=run_id), timeout=DEFAULT_TIMEOUT_S
        ).run
        if not run.verification.HasField("privacy"):
            raise CliError(
                f"run {run_id} has no privacy report: it is {status_name(run.status)} and did "
                "not get as far as verifying what it wrote, or is not a sync run",
                EXIT_FAILED_PRECONDITION,
            )
        if as_json:
            print_json(run.verification.privacy)
            return
        # The run records a synthesized table's model evaluation with its progress.
        progress = api.jobs.GetJobRunProgress(
            job_pb2.GetJobRunProgressRequest(run_id=run_id), timeout=DEFAULT_TIMEOUT_S
        ).progress
    print_report(run.verification.privacy, progress.tables)


def _print_verification(verification: job_pb2.RunVerification) -> None:
    """Per-table counts, the integrity of the references written, and warnings."""
    grid = table("TABLE", "READ", "WRITTEN", "SKIPPED", "PRESENT", "LEFT OUT", title="verification")
    for t in verification.tables:
        present = str(t.rows_present) if t.HasField("rows_present") else "-"
        left_out = str(t.rows_left_out) if t.HasField("rows_left_out") else "-"
        counts = (t.rows_read, t.rows_written, t.rows_skipped)
        grid.add_row(t.table, *map(str, counts), present, left_out)
    out.print(grid)
    checked, dangling = verification.references_checked, len(verification.dangling)
    if dangling:
        out.print(f"integrity: {dangling} of {checked} references dangle")
    else:
        out.print(f"integrity: OK ({checked} references checked)")
    for failure in verification.failures:  # each dangling reference among them
        out.print(f"failed:  {failure}")
    for warning in verification.warnings:
        out.print(f"warning: {warning}")


@runs.command("progress")
@click.argument("run_id")
@json_option()
@pass_cli
def progress(cli: CliContext, run_id: str, as_json: bool) -> None:
    """Show a run's per-table progress."""
    with open_api(cli.settings) as api:
        result = api.jobs.GetJobRunProgress(
            job_pb2.GetJobRunProgressRequest(run_id=run_id), timeout=DEFAULT_TIMEOUT_S
        ).progress
    if as_json:
        print_json(result)
        return
    grid = table("TABLE", "STATUS", "READ", "WRITTEN", "TOTAL", "%", "ROWS/S")
    for t in result.tables:
        grid.add_row(
            t.table,
            table_status_name(t.status),
            *map(count, (t.rows_read, t.rows_written, t.rows_total)),
            f"{t.percent:.0f}",
            count(t.rows_per_second),
        )
    out.print(grid)
    print_evaluations(result.tables)
    out.print(
        f"{status_name(result.status)}: {run_line(result)}, {count(result.rows_written)} "
        f"written, {seconds(result.elapsed):.1f}s"
    )


def _job_names(api: Api) -> list[str]:
    jobs: Iterator[job_pb2.Job] = paged(
        lambda token: api.jobs.ListJobs(
            job_pb2.ListJobsRequest(page_size=1000, page_token=token), timeout=DEFAULT_TIMEOUT_S
        ),
        lambda page: page.jobs,
    )
    return [job.name for job in jobs]


def _job_runs(
    api: Api, job: str, status: "job_pb2.RunStatus.ValueType", limit: int
) -> list[job_pb2.JobRun]:
    found: Iterator[job_pb2.JobRun] = paged(
        lambda token: api.jobs.ListJobRuns(
            job_pb2.ListJobRunsRequest(
                job=job_pb2.JobRef(name=job),
                status=status,
                page_size=min(limit, 1000),
                page_token=token,
            ),
            timeout=DEFAULT_TIMEOUT_S,
        ),
        lambda page: page.runs,
    )
    return list(islice(found, limit))


@runs.command("list")
@click.option("--job", "job", default=None, help="Only this job's runs; default every job's.")
@click.option(
    "--status", type=click.Choice(_STATUSES), default=None, help="Only runs in this state."
)
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True, help="Most runs.")
@json_option()
@pass_cli
def list_(cli: CliContext, job: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """List runs, newest first."""
    code = job_pb2.RunStatus.Value(
        f"RUN_STATUS_{status.upper()}" if status else "RUN_STATUS_UNSPECIFIED"
    )
    with open_api(cli.settings) as api:
        # ListJobRuns is per job; without --job every job is asked and the answers merged.
        jobs = [job] if job else _job_names(api)
        found = [run for name in jobs for run in _job_runs(api, name, code, limit)]
    found.sort(key=lambda r: (r.start_time.seconds, r.start_time.nanos), reverse=True)
    found = found[:limit]
    if as_json:
        print_json(job_pb2.ListJobRunsResponse(runs=found))
        return
    grid = table("RUN", "JOB", "STATUS", "STARTED", "CLOSED", "SCHEDULED", "FAILURE")
    for r in found:
        grid.add_row(
            r.id,
            r.job_name,
            status_name(r.status),
            when(r.start_time),
            when(r.close_time),
            "yes" if r.scheduled else "",
            r.failure_message,
        )
    out.print(grid)


@runs.command("events")
@click.argument("run_id")
@json_option()
@pass_cli
def events(cli: CliContext, run_id: str, as_json: bool) -> None:
    """Show a run's per-table events (scheduled, started, retried, completed, failed)."""
    with open_api(cli.settings) as api:
        result = api.jobs.GetJobRunEvents(
            job_pb2.GetJobRunEventsRequest(run_id=run_id), timeout=DEFAULT_TIMEOUT_S
        )
    if as_json:
        print_json(result)
        return
    grid = table("TIME", "TABLE", "ACTIVITY", "EVENT", "ATTEMPT", "MESSAGE")
    for e in result.events:
        grid.add_row(
            when(e.time),
            e.table,
            e.activity,
            enum_label(job_pb2.TableEventKind, e.kind, "TABLE_EVENT_KIND_"),
            str(e.attempt),
            e.message,
        )
    out.print(grid)


@runs.command("cancel")
@click.argument("run_id")
@pass_cli
def cancel(cli: CliContext, run_id: str) -> None:
    """Ask a running run to stop; it ends canceled once its tables have stopped."""
    with open_api(cli.settings) as api:
        api.jobs.CancelJobRun(job_pb2.CancelJobRunRequest(run_id=run_id), timeout=DEFAULT_TIMEOUT_S)
    out.print(f"cancel requested for run {run_id}")


@runs.command("terminate")
@click.argument("run_id")
@click.option("--reason", default="terminated from the CLI", show_default=True)
@pass_cli
def terminate(cli: CliContext, run_id: str, reason: str) -> None:
    """Stop a running run at once, without cleanup."""
    with open_api(cli.settings) as api:
        api.jobs.TerminateJobRun(
            job_pb2.TerminateJobRunRequest(run_id=run_id, reason=reason), timeout=DEFAULT_TIMEOUT_S
        )
    out.print(f"terminated run {run_id}")


@runs.command("watch")
@click.argument("run_id")
@click.option("--timeout", type=float, default=None, help="Give up after SECONDS.")
@pass_cli
def watch(cli: CliContext, run_id: str, timeout: float | None) -> None:
    """Draw a run's progress until it ends; exit non-zero unless it succeeded."""
    with open_api(cli.settings) as api:
        outcome = wait_for_run(api, run_id, timeout)
    print_summary(outcome)
    raise_unless_succeeded(outcome.run)
