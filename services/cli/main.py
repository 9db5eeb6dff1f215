"""The `veilsync` command: entry point, global options and error reporting."""

import sys

import click

from services.cli import (
    connections,
    demo,
    dev,
    job_admin,
    jobs,
    keys,
    model_upload,
    models,
    runs,
    suggest,
    transformers,
)
from services.cli.context import CliContext
from services.cli.errors import CliError
from services.common.settings import Settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--api",
    envvar="VEILSYNC_API",
    show_envvar=True,
    default=None,
    help="host:port of the Veilsync API  [default: 127.0.0.1:50051]",
)
@click.option(
    "--api-key",
    envvar="VEILSYNC_API_KEY",
    show_envvar=True,
    default=None,
    help="API key sent on every call  [default: the key file <data dir>/api-key]",
)
@click.pass_context
def cli(ctx: click.Context, api: str | None, api_key: str | None) -> None:
    """Veilsync: production-like data without production risk."""
    settings = Settings()
    if api:
        settings = settings.model_copy(update={"api": api})
    if api_key:
        settings = settings.model_copy(update={"api_key": api_key})
    ctx.obj = CliContext(settings=settings)


cli.add_command(dev.dev)
cli.add_command(connections.connections)
cli.add_command(jobs.jobs)
cli.add_command(runs.runs)
cli.add_command(transformers.transformers)
cli.add_command(keys.keys)
cli.add_command(models.models)
cli.add_command(demo.demo)
for command in job_admin.COMMANDS:
    jobs.jobs.add_command(command)
models.models.add_command(model_upload.upload)
jobs.jobs.add_command(suggest.suggest)


def main() -> None:
    try:
        cli.main(prog_name="veilsync")
    except CliError as err:
        err.show()
        sys.exit(err.exit_code)
