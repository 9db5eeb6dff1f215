"""The embedded stack: a Temporal dev server, the API, a sync worker and (with the `ml`
extra) an ML worker on this machine.

Everything it needs comes from Settings (VEILSYNC_* variables), so a second stack can run
beside the first with another data directory and other ports.
"""

import importlib.util
import os
import secrets
import socket
import sys
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from services.cli import supervisor
from services.cli.errors import CliError
from services.cli.health import TEMPORAL_SERVICE, is_serving
from services.cli.supervisor import ChildProcess
from services.common.model_files import models_dir
from services.common.secrets import key_file
from services.common.settings import Settings

START_TIMEOUT_S = 90.0
_POLL_S = 0.25
ML_WORKER = "ml-worker"


@dataclass(frozen=True)
class Service:
    """One process of the stack and the probe that says it is ready."""

    name: str
    argv: list[str]
    # None: ready once every metrics endpoint it was given answers (a worker serves nothing
    # else; it binds them at start-up, the Temporal SDK's once it has connected).
    ready: Callable[[], bool] | None
    # Every port it listens on, checked before anything of the stack starts.
    ports: tuple[int, ...]
    # Its Prometheus endpoints: what each serves → the flag (--name) or environment variable
    # that tells the process its port. The stack picks a free port for each at start.
    metrics: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    pid: int | None
    running: bool
    log: str
    # Why the stack does not run this process here; empty when it does.
    skipped: str = ""
    # Its Prometheus endpoints while it runs: what each serves → host:port.
    metrics: Mapping[str, str] = field(default_factory=dict)


def ml_worker_skip_reason() -> str:
    """Why there is no ML worker in this stack, or "" when there is one.

    find_spec rather than import: importing torch takes seconds and the CLI only needs to
    know whether the worker it would start can import it.
    """
    if importlib.util.find_spec("torch") is None:
        return "torch is not installed in this interpreter (pip install -e '.[ml]')"
    return ""


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise CliError(f"{address!r} is not a host:port address")
    return host, int(port)


def state_file(settings: Settings) -> Path:
    return settings.data_dir / "stack.json"


def log_file(settings: Settings, name: str) -> Path:
    return settings.data_dir / "logs" / f"{name}.log"


def ui_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.temporal_ui_port}"


# The embedded stack always runs the API's codec server, so the dev UI can decode payloads.
DEV_CODEC_SERVER_PORT = 8234

# Veilsync's own metrics and the Temporal SDK's, each on a port of its own, for our processes.
PROCESS_METRICS = {
    "veilsync": "VEILSYNC_METRICS_PORT",
    "temporal-sdk": "VEILSYNC_TEMPORAL_METRICS_PORT",
}


def codec_server_port(settings: Settings) -> int:
    return settings.codec_server_port or DEV_CODEC_SERVER_PORT


def ui_codec_token(settings: Settings) -> str:
    """The stack's own random token, which the codec server accepts in its path in place of
    an API key: the dev Web UI can send no key, but can call the endpoint it was given."""
    path = settings.data_dir / "codec-ui-token"
    return key_file(path, lambda: secrets.token_urlsafe(32).encode()).decode()


def ui_codec_endpoint(settings: Settings) -> str:
    host, _ = split_address(settings.api)
    return f"http://{host}:{codec_server_port(settings)}/{ui_codec_token(settings)}"


def services(settings: Settings) -> list[Service]:
    """The stack's processes in start order."""
    from services.common.temporal import dev_server_binary  # imports temporalio: only here

    host, temporal_port = split_address(settings.temporal_address)
    _, api_port = split_address(settings.api)
    temporal = [
        str(dev_server_binary()),
        *("server", "start-dev"),
        *("--db-filename", str(settings.data_dir / "temporal.db")),
        *("--ip", host),
        *("--port", str(temporal_port)),
        *("--ui-port", str(settings.temporal_ui_port)),
        *("--namespace", settings.temporal_namespace),
        *("--log-level", "warn"),
        *("--ui-codec-endpoint", ui_codec_endpoint(settings)),
    ]
    return [
        Service(
            "temporal",
            temporal,
            lambda: is_serving(settings.temporal_address, TEMPORAL_SERVICE),
            (temporal_port, settings.temporal_ui_port),
            {"temporal-server": "--metrics-port"},
        ),
        Service(
            "api",
            [sys.executable, "-m", "services.api"],
            lambda: is_serving(settings.api),
            (api_port, codec_server_port(settings)),
            PROCESS_METRICS,
        ),
        Service(
            "sync-worker",
            [sys.executable, "-m", "services.sync_worker"],
            None,
            (),
            PROCESS_METRICS,
        ),
        *(
            []
            if ml_worker_skip_reason()
            else [
                Service(
                    ML_WORKER,
                    [sys.executable, "-m", "services.ml_worker"],
                    None,
                    (),
                    PROCESS_METRICS,
                )
            ]
        ),
    ]


def child_environment(settings: Settings) -> dict[str, str]:
    """Our environment with the resolved settings made explicit, whichever way they were set.

    Every child gets the same data_dir (hence the same API key file, codec key and secret
    key) and the same model store, which the API (uploads) and the ML worker share.
    """
    env = dict(os.environ)
    env.update(
        VEILSYNC_DATA_DIR=str(settings.data_dir),
        VEILSYNC_MODELS_DIR=str(models_dir(settings).resolve()),
        VEILSYNC_API=settings.api,
        VEILSYNC_TEMPORAL_ADDRESS=settings.temporal_address,
        VEILSYNC_TEMPORAL_NAMESPACE=settings.temporal_namespace,
        VEILSYNC_TEMPORAL_UI_PORT=str(settings.temporal_ui_port),
        VEILSYNC_CODEC_SERVER_PORT=str(codec_server_port(settings)),
        VEILSYNC_CODEC_SERVER_ORIGINS=",".join(
            f"http://{name}:{settings.temporal_ui_port}" for name in ("localhost", "127.0.0.1")
        ),
        VEILSYNC_CODEC_SERVER_UI_TOKEN=ui_codec_token(settings),
    )
    return env


def _listening(address: str) -> bool:
    try:
        with socket.create_connection(split_address(address), timeout=1):
            return True
    except OSError:
        return False


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def separate_env(data_dir: Path) -> dict[str, str]:
    """This process's environment for a stack of its own beside any other: data_dir and free
    ports on 127.0.0.1. No API key carries over: the CLI reads the one that stack writes."""
    host = "127.0.0.1"
    env = {
        **os.environ,
        "VEILSYNC_DATA_DIR": str(data_dir),
        "VEILSYNC_API": f"{host}:{_free_port(host)}",
        "VEILSYNC_TEMPORAL_ADDRESS": f"{host}:{_free_port(host)}",
        "VEILSYNC_TEMPORAL_UI_PORT": str(_free_port(host)),
        "VEILSYNC_CODEC_SERVER_PORT": str(_free_port(host)),
    }
    env.pop("VEILSYNC_API_KEY", None)
    return env


def _spawn(settings: Settings, service: Service, env: Mapping[str, str]) -> ChildProcess:
    """Start one process of the stack with free ports for its metrics, and record them."""
    argv, child_env, metrics = list(service.argv), dict(env), {}
    host = (
        split_address(settings.temporal_address)[0]
        if service.name == "temporal"
        else settings.metrics_host
    )
    for serves, name in service.metrics.items():
        port = _free_port(host)
        metrics[serves] = f"{host}:{port}"
        if name.startswith("--"):
            argv += [name, str(port)]
        else:
            child_env[name] = str(port)
    return supervisor.spawn(
        service.name,
        argv,
        log_file(settings, service.name),
        child_env,
        metrics=metrics,
        hidden=(ui_codec_token(settings),),
    )


def resolved(settings: Settings) -> Settings:
    # Children may run from another directory later on; they must find the same files.
    return settings.model_copy(update={"data_dir": settings.data_dir.resolve()})


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def check_ports(to_run: Sequence[Service], running: Collection[str] = ()) -> None:
    """Raise a CliError naming the first port a service to start would find taken."""
    for service in to_run:
        if service.name in running:
            continue
        for port in service.ports:
            if _port_in_use(port):
                raise CliError(
                    f"port {port} for {service.name} is already in use; is another stack "
                    "running? Stop it, or set VEILSYNC_API / VEILSYNC_TEMPORAL_ADDRESS / "
                    "VEILSYNC_TEMPORAL_UI_PORT"
                )


def _wait_ready(service: Service, child: ChildProcess, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        code = supervisor.exit_code(child)
        if code is not None or not child.is_alive():
            raise CliError(
                f"{service.name} exited during start-up (code {code}); see {child.log}:\n"
                + supervisor.log_tail(Path(child.log))
            )
        if service.ready() if service.ready else all(map(_listening, child.metrics.values())):
            return
        if time.monotonic() > deadline:
            raise CliError(
                f"{service.name} did not become ready within {timeout_s:.0f}s; see {child.log}:\n"
                + supervisor.log_tail(Path(child.log))
            )
        time.sleep(_POLL_S)


def up(
    settings: Settings,
    timeout_s: float = START_TIMEOUT_S,
    on_event: Callable[[str], None] = lambda _: None,
) -> list[ChildProcess]:
    """Start whatever part of the stack is not running and wait until it serves.

    Idempotent: running children are kept. On failure everything this call started is
    stopped again, and a CliError says which process failed and where its log is.
    """
    settings = resolved(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = state_file(settings)
    running = {c.name: c for c in supervisor.read_state(path) if c.is_alive()}
    env = child_environment(settings)
    children: list[ChildProcess] = []
    started: list[ChildProcess] = []
    to_run = services(settings)
    if skipped := ml_worker_skip_reason():
        on_event(f"not starting {ML_WORKER}: {skipped}")
    # Every port is checked before anything starts, so a clash leaves nothing to clean up.
    check_ports(to_run, running=set(running))
    try:
        for service in to_run:
            child = running.get(service.name)
            if child is None:
                on_event(f"starting {service.name}")
                child = _spawn(settings, service, env)
                started.append(child)
                supervisor.write_state(path, [*children, child])
            children.append(child)
            _wait_ready(service, child, timeout_s)
    except BaseException:
        for child in reversed(started):
            supervisor.stop(child)
        kept = [c for c in children if c not in started]
        if kept:
            supervisor.write_state(path, kept)
        else:
            path.unlink(missing_ok=True)
        raise
    supervisor.write_state(path, children)
    return started


def down(settings: Settings, on_event: Callable[[str], None] = lambda _: None) -> int:
    """Stop every recorded child, last started first; the number that were running."""
    settings = resolved(settings)
    path = state_file(settings)
    stopped = 0
    for child in reversed(supervisor.read_state(path)):
        if child.is_alive():
            on_event(f"stopping {child.name} (pid {child.pid})")
            supervisor.stop(child)
            stopped += 1
    path.unlink(missing_ok=True)
    return stopped


def status(settings: Settings) -> list[ServiceStatus]:
    settings = resolved(settings)
    recorded = {c.name: c for c in supervisor.read_state(state_file(settings))}
    result = []
    for service in services(settings):
        child = recorded.get(service.name)
        running = bool(child and child.is_alive())
        result.append(
            ServiceStatus(
                name=service.name,
                pid=child.pid if child else None,
                running=running,
                log=str(log_file(settings, service.name)),
                metrics=child.metrics if child and running else {},
            )
        )
    if skipped := ml_worker_skip_reason():
        log = str(log_file(settings, ML_WORKER))
        result.append(ServiceStatus(ML_WORKER, None, False, log, skipped=skipped))
    return result
