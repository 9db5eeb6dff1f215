"""`veilsync jobs update|pause|resume|validate`: changing and checking stored jobs."""

from pathlib import Path

import click
from google.protobuf import field_mask_pb2

from services.cli.api_client import DEFAULT_TIMEOUT_S, open_api
from services.cli.context import CliContext, pass_cli
from services.cli.errors import EXIT_FAILED, EXIT_INVALID_ARGUMENT, CliError
from services.cli.jobfile import load_job, load_job_fields
from services.cli.jobs import JOB_FILE_HELP
from services.cli.output import enum_label, json_option, out, print_json, table
from services.common.errors import InvalidArgumentError
from veilsync.v1 import job_pb2

# What names the job rather than changes it; every other field in the file is updated.
_IDENTITY_FIELDS = ("name", "id")
# Output only, and written back by a file taken from `jobs get`: recorded anew only when asked,
# since new versions mean new outputs.
_VERSIONS = "transformer_versions"

_FILE = click.Path(dir_okay=False, path_type=Path)


def _read_job(path: Path, max_bytes: int) -> tuple[job_pb2.Job, list[str]]:
    try:
        return load_job_fields(path, max_bytes)
    except InvalidArgumentError as error:
        raise CliError(str(error), EXIT_INVALID_ARGUMENT) from error


@click.command("update")
@click.option("-f", "--file", "path", required=True, type=_FILE, help=JOB_FILE_HELP)
@click.option(
    "--hook-secret",
    envvar="VEILSYNC_HOOK_SECRET",
    default="",
    help="New secret signing the run hooks (16+ characters); the current one is kept when omitted.",
)
@click.option(
    "--record-transformer-versions",
    is_flag=True,
    help="Record the API's current transformer versions in the job, so that workers of this "
    "release run it: outputs then differ from the job's earlier runs'.",
)
@pass_cli
def update(
    cli: CliContext, path: Path, hook_secret: str, record_transformer_versions: bool
) -> None:
    """Change the job the file names: only the fields the file writes are updated."""
    job, fields = _read_job(path, cli.settings.max_job_bytes)
    if not job.name:
        raise CliError(f"{path}: the file must name the job to update", EXIT_INVALID_ARGUMENT)
    paths = [f for f in fields if f not in (*_IDENTITY_FIELDS, _VERSIONS)]
    if record_transformer_versions:
        paths.append(_VERSIONS)
    if not paths:
        raise CliError(f"{path}: nothing to update besides the name", EXIT_INVALID_ARGUMENT)
    with open_api(cli.settings) as api:
        updated = api.jobs.UpdateJob(
            job_pb2.UpdateJobRequest(
                job=job_pb2.JobRef(name=job.name),
                update=job,
                # Never empty here: an empty mask would mean "replace every field".
                update_mask=field_mask_pb2.FieldMask(paths=paths),
                hook_secret=hook_secret,
            ),
            timeout=DEFAULT_TIMEOUT_S,
        ).job
    out.print(f"updated job {updated.name}: {', '.join(paths)}")


@click.command("pause")
@click.argument("name")
@pass_cli
def pause(cli: CliContext, name: str) -> None:
    """Pause a job's schedule; `jobs run` still starts runs."""
    with open_api(cli.settings) as api:
        api.jobs.PauseJob(
            job_pb2.PauseJobRequest(job=job_pb2.JobRef(name=name)), timeout=DEFAULT_TIMEOUT_S
        )
    out.print(f"paused job {name}")


@click.command("resume")
@click.argument("name")
@pass_cli
def resume(cli: CliContext, name: str) -> None:
    """Resume a paused job's schedule."""
    with open_api(cli.settings) as api:
        api.jobs.ResumeJob(
            job_pb2.ResumeJobRequest(job=job_pb2.JobRef(name=name)), timeout=DEFAULT_TIMEOUT_S
        )
    out.print(f"resumed job {name}")


@click.command("validate")
@click.argument("name", required=False)
@click.option("-f", "--file", "path", type=_FILE, help="Validate this job file instead.")
@json_option()
@pass_cli
def validate(cli: CliContext, name: str | None, path: Path | None, as_json: bool) -> None:
    """Check a stored job (NAME) or a job file (-f) against its source's schema now.

    Exits 1 when there is an error-level violation; warnings alone exit 0.
    """
    if (name is None) == (path is None):
        raise CliError("give a job NAME or -f FILE, not both", EXIT_INVALID_ARGUMENT)
    if path is not None:
        try:
            request = job_pb2.ValidateJobRequest(spec=load_job(path, cli.settings.max_job_bytes))
        except InvalidArgumentError as error:
            raise CliError(str(error), EXIT_INVALID_ARGUMENT) from error
    else:
        request = job_pb2.ValidateJobRequest(job=job_pb2.JobRef(name=name or ""))
    with open_api(cli.settings) as api:
        result = api.jobs.ValidateJob(request, timeout=DEFAULT_TIMEOUT_S)
    if as_json:
        print_json(result)
    elif result.violations:
        grid = table("SEVERITY", "KIND", "WHERE", "PROBLEM")
        for v in result.violations:
            where = ".".join(part for part in (v.table, v.column) if part) or v.field
            grid.add_row(
                enum_label(job_pb2.ViolationSeverity, v.severity, "VIOLATION_SEVERITY_"),
                enum_label(job_pb2.ViolationKind, v.kind, "VIOLATION_KIND_"),
                where,
                v.description,
            )
        out.print(grid)
    target = name or str(path)
    if not result.valid:
        raise CliError(f"job {target} is not valid", EXIT_FAILED)
    if not as_json:
        out.print(f"job {target} is valid")


COMMANDS = (update, pause, resume, validate)
