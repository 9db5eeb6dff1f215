"""`veilsync dev up|down|status`: the embedded stack on this machine."""

import click

from services.cli import stack
from services.cli.context import CliContext, pass_cli
from services.cli.errors import EXIT_FAILED, CliError
from services.cli.health import is_serving
from services.cli.output import err, json_option, out, print_json, table
from services.common.settings import Settings


@click.group()
def dev() -> None:
    """Run the embedded stack: Temporal dev server, API, sync worker and ML worker."""


def start(settings: Settings, timeout_s: float = stack.START_TIMEOUT_S) -> None:
    """Bring the stack up (or find it up) and say where it serves."""
    started = stack.up(settings, timeout_s, on_event=lambda note: err.print(note))
    if not started:
        out.print("the stack is already up")
    out.print(f"Veilsync API:     {settings.api}")
    out.print(f"Temporal:         {settings.temporal_address}")
    out.print(f"Temporal Web UI:  {stack.ui_url(settings)}")
    out.print(f"API key file:     {stack.resolved(settings).api_key_file()}")
    out.print(f"logs:             {stack.resolved(settings).data_dir / 'logs'}")


def stop(settings: Settings) -> None:
    stopped = stack.down(settings, on_event=lambda note: err.print(note))
    out.print("the stack is down" if stopped else "the stack was not running")


@dev.command("up")
@click.option(
    "--timeout", type=float, default=stack.START_TIMEOUT_S, show_default=True, help="Seconds."
)
@pass_cli
def up(cli: CliContext, timeout: float) -> None:
    """Start the stack in the background and wait until it serves."""
    start(cli.settings, timeout)


@dev.command("down")
@pass_cli
def down(cli: CliContext) -> None:
    """Stop the stack: SIGTERM, then SIGKILL after a grace period."""
    stop(cli.settings)


@dev.command("status")
@json_option()
@pass_cli
def status(cli: CliContext, as_json: bool) -> None:
    """Show each process, where it serves Prometheus metrics, and whether the API answers
    its health check."""
    settings = cli.settings
    states = stack.status(settings)
    healthy = is_serving(settings.api)
    if as_json:
        processes = [
            {
                "name": s.name,
                "state": _state(s),
                "pid": s.pid,
                "log": s.log,
                "metrics": {serves: f"http://{a}/metrics" for serves, a in s.metrics.items()},
            }
            for s in states
        ]
        print_json({"processes": processes, "api": settings.api, "serving": healthy})
    else:
        grid = table("PROCESS", "STATE", "PID", "METRICS", "LOG")
        for s in states:
            metrics = "\n".join(f"{serves} http://{a}/metrics" for serves, a in s.metrics.items())
            grid.add_row(s.name, _state(s), str(s.pid or "-"), metrics or "-", s.log)
        out.print(grid)
        out.print(f"API {settings.api}: {'SERVING' if healthy else 'not serving'}")
    if not (healthy and all(s.running or s.skipped for s in states)):
        raise CliError("the stack is not fully up; `veilsync dev up` starts it", EXIT_FAILED)


def _state(process: stack.ServiceStatus) -> str:
    if process.skipped:
        return f"skipped: {process.skipped}"
    return "up" if process.running else "down"
