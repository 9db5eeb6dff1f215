"""`veilsync jobs ...`: job files in, runs out."""

from pathlib import Path

import click

from services.cli.api_client import DEFAULT_TIMEOUT_S, list_all, open_api
from services.cli.context import CliContext, pass_cli
from services.cli.errors import EXIT_INVALID_ARGUMENT, CliError
from services.cli.jobfile import dump_job, load_job
from services.cli.output import err, json_option, out, print_json, table, when
from services.cli.run_watch import print_summary, raise_unless_succeeded, wait_for_run
from services.common.errors import InvalidArgumentError
from veilsync.v1 import job_pb2

JOB_FILE_HELP = "Job file: the proto3 JSON mapping of veilsync.v1.Job, as YAML."


def _ref(name: str) -> job_pb2.JobRef:
    return job_pb2.JobRef(name=name)


@click.group()
def jobs() -> None:
    """Create, inspect, delete and run jobs."""


@jobs.command("create")
@click.option(
    "-f",
    "--file",
    "path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help=JOB_FILE_HELP,
)
@click.option(
    "--transform-key",
    envvar="VEILSYNC_TRANSFORM_KEY",
    default="",
    help="Passphrase the keyed transformers' key is stretched from (scrypt): 16+ characters, "
    "hard to guess (about 64 bits estimated); a random key is generated when omitted.",
)
@pass_cli
def create(cli: CliContext, path: Path, transform_key: str) -> None:
    """Validate a job file against its source and store the job."""
    try:
        job = load_job(path, cli.settings.max_job_bytes)
    except InvalidArgumentError as error:
        # Checked before dialling: a broken file is the user's to fix, whatever the API's state.
        raise CliError(str(error), EXIT_INVALID_ARGUMENT) from error
    with open_api(cli.settings) as api:
        created = api.jobs.CreateJob(
            job_pb2.CreateJobRequest(job=job, transform_key=transform_key),
            timeout=DEFAULT_TIMEOUT_S,
        ).job
    out.print(f"created job {created.name} ({created.id})")


@jobs.command("list")
@json_option()
@pass_cli
def list_(cli: CliContext, as_json: bool) -> None:
    """List jobs by name."""
    with open_api(cli.settings) as api:
        found: list[job_pb2.Job] = list_all(
            api.jobs.ListJobs, job_pb2.ListJobsRequest, lambda page: page.jobs
        )
    if as_json:
        print_json(job_pb2.ListJobsResponse(jobs=found))
        return
    grid = table("NAME", "SOURCE", "DESTINATIONS", "TABLES MAPPED", "CREATED")
    for job in found:
        grid.add_row(
            job.name,
            job.source.connection,
            ", ".join(d.connection for d in job.destinations),
            str(len(job.mappings)),
            when(job.create_time),
        )
    out.print(grid)


@jobs.command("get")
@click.argument("name")
@click.option(
    "--effective",
    is_flag=True,
    help="The mapping runs apply, read against the source now: saved transformers expanded and "
    "each key's transformer written out on the columns that reference it.",
)
@json_option()
@pass_cli
def get(cli: CliContext, name: str, effective: bool, as_json: bool) -> None:
    """Print a job as a job file (or, with --json, the Job message with its output fields)."""
    request = job_pb2.GetJobRequest(job=_ref(name), effective=effective)
    with open_api(cli.settings) as api:
        job = api.jobs.GetJob(request, timeout=DEFAULT_TIMEOUT_S).job
    if as_json:
        print_json(job)
        return
    out.print(dump_job(job), end="")


@jobs.command("delete")
@click.argument("name")
@pass_cli
def delete(cli: CliContext, name: str) -> None:
    """Delete a job that has no run in flight."""
    with open_api(cli.settings) as api:
        api.jobs.DeleteJob(job_pb2.DeleteJobRequest(job=_ref(name)), timeout=DEFAULT_TIMEOUT_S)
    out.print(f"deleted job {name}")


@jobs.command("run")
@click.argument("name")
@click.option("--wait", is_flag=True, help="Draw progress until the run ends; fail if it fails.")
@click.option("--timeout", type=float, default=None, help="With --wait: give up after SECONDS.")
@pass_cli
def run(cli: CliContext, name: str, wait: bool, timeout: float | None) -> None:
    """Start a run now and print its id (alone on stdout's first line)."""
    with open_api(cli.settings) as api:
        started = api.jobs.TriggerJobRun(
            job_pb2.TriggerJobRunRequest(job=_ref(name)), timeout=DEFAULT_TIMEOUT_S
        ).run
        out.print(started.id)
        if not wait:
            return
        err.print(f"waiting for run {started.id} of job {name}")
        outcome = wait_for_run(api, started.id, timeout)
    print_summary(outcome)
    raise_unless_succeeded(outcome.run)
