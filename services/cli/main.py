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
@click.option(
    "--tls",
    envvar="VEILSYNC_API_TLS",
    show_envvar=True,
    is_flag=True,
    default=False,
    help="Dial the API over TLS (implied by --ca-file and --client-cert)",
)
@click.option(
    "--ca-file",
    envvar="VEILSYNC_API_CA_FILE",
    show_envvar=True,
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="PEM CA bundle the API's certificate must chain to  [default: the system's roots]",
)
@click.option(
    "--client-cert",
    envvar="VEILSYNC_API_CLIENT_CERT",
    show_envvar=True,
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="PEM client certificate, for an API that requires one",
)
@click.option(
    "--client-key",
    envvar="VEILSYNC_API_CLIENT_KEY",
    show_envvar=True,
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="PEM key of --client-cert",
)
@click.pass_context
def cli(
    ctx: click.Context,
    api: str | None,
    api_key: str | None,
    tls: bool,
    ca_file: str | None,
    client_cert: str | None,
    client_key: str | None,
) -> None:
    """Veilsync: production-like data without production risk."""
    given = {
        "api": api,
        "api_key": api_key,
        "api_tls": tls,
        "api_ca_file": ca_file,
        "api_client_cert": client_cert,
        "api_client_key": client_key,
    }
    # Options left unset keep what Settings read from the environment.
    settings = Settings().model_copy(update={name: v for name, v in given.items() if v})
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
