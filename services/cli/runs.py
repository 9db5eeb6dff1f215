"""`veilsync runs ...`: one run's state and progress."""

import click
from google.protobuf import json_format

from services.cli.api_client import DEFAULT_TIMEOUT_S, open_api
from services.cli.context import CliContext, pass_cli
from services.cli.output import out, seconds, table, when
from services.cli.run_watch import status_name
from veilsync.v1 import job_pb2


@click.group()
def runs() -> None:
    """Inspect job runs."""


@runs.command("get")
@click.argument("run_id")
@pass_cli
def get(cli: CliContext, run_id: str) -> None:
    """Show a run's status and failure reason."""
    with open_api(cli.api) as api:
        run = api.jobs.GetJobRun(
            job_pb2.GetJobRunRequest(run_id=run_id), timeout=DEFAULT_TIMEOUT_S
        ).run
    out.print(f"run:     {run.id}")
    out.print(f"job:     {run.job_name} ({run.job_id})")
    out.print(f"status:  {status_name(run.status)}")
    out.print(f"started: {when(run.start_time)}")
    out.print(f"closed:  {when(run.close_time)}")
    if run.failure_message:
        out.print(f"failure: {run.failure_message}")


@runs.command("progress")
@click.argument("run_id")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the JobRunProgress message as proto3 JSON (proto field names), for scripts.",
)
@pass_cli
def progress(cli: CliContext, run_id: str, as_json: bool) -> None:
    """Show a run's per-table progress."""
    with open_api(cli.api) as api:
        result = api.jobs.GetJobRunProgress(
            job_pb2.GetJobRunProgressRequest(run_id=run_id), timeout=DEFAULT_TIMEOUT_S
        ).progress
    if as_json:
        # Plain print: rich would re-wrap and colour the JSON a script is about to parse.
        click.echo(
            json_format.MessageToJson(
                result, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
            )
        )
        return
    grid = table("TABLE", "STATUS", "READ", "WRITTEN", "TOTAL", "%", "ROWS/S")
    for t in result.tables:
        grid.add_row(
            t.table,
            job_pb2.TableSyncStatus.Name(t.status).removeprefix("TABLE_SYNC_STATUS_").lower(),
            str(t.rows_read),
            str(t.rows_written),
            str(t.rows_total),
            f"{t.percent:.0f}",
            f"{t.rows_per_second:.0f}",
        )
    out.print(grid)
    out.print(
        f"{status_name(result.status)}: {result.rows_read}/{result.rows_total} rows read, "
        f"{result.rows_written} written, {seconds(result.elapsed):.1f}s"
    )
