"""The `veilsync` command: entry point, global options and error reporting."""

import importlib
import sys
from collections.abc import Callable

import click

from services.cli.context import CliContext
from services.cli.errors import CliError
from services.common.settings import Settings


def _jobs() -> click.Command:
    from services.cli import job_admin, jobs, suggest

    for command in [*job_admin.COMMANDS, suggest.suggest]:
        jobs.jobs.add_command(command)
    return jobs.jobs


def _models() -> click.Command:
    from services.cli import model_upload, models

    models.models.add_command(model_upload.upload)
    return models.models


def _command(module: str) -> Callable[[], click.Command]:
    """The command named like its module, services.cli.<module>.<module>."""
    return lambda: getattr(importlib.import_module(f"services.cli.{module}"), module)


# Each command's module is imported only when that command runs (or help lists them all):
# the demo alone pulls in Faker, NumPy and psycopg, a third of a bare start's time.
COMMANDS: dict[str, Callable[[], click.Command]] = {
    "connections": _command("connections"),
    "demo": _command("demo"),
    "dev": _command("dev"),
    "jobs": _jobs,
    "keys": _command("keys"),
    "models": _models,
    "runs": _command("runs"),
    "transformers": _command("transformers"),
}


class LazyGroup(click.Group):
    """A group whose subcommands load on first use (click's documented lazy-loading pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        load = COMMANDS.get(cmd_name)
        return load() if load else None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="veilsync", prog_name="veilsync")
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


def main() -> None:
    try:
        cli.main(prog_name="veilsync")
    except CliError as err:
        err.show()
        sys.exit(err.exit_code)
