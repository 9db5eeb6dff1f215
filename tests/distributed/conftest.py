"""A deployment over six hosts of this machine: PostgreSQL, Temporal, the API, two sync
workers and an ML worker, each in its own network namespace. Each process is configured as
on a machine of its own: by VEILSYNC_* variables alone, with the same Temporal address,
metadata store, secret key and codec key, and a data directory of its own."""

import asyncio
import dataclasses
import functools
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from services.cli import stack
from services.common.codec import new_key
from services.common.settings import Settings
from services.common.temporal import dev_server_binary
from tests.distributed import hosts, postgres
from tests.distributed.hosts import Host
from tests.e2e.conftest import Cli
from tests.servers import unavailable

ROLES = ("db", "temporal", "api", "sync-a", "sync-b", "ml")
WORKERS = {"sync-a": "sync-worker", "sync-b": "sync-worker", "ml": stack.ML_WORKER}
DATABASES = ("metadata", "source", "replica")
START_TIMEOUT_S = 120.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "distributed: builds hosts from network namespaces")


def identity(process: subprocess.Popen[bytes]) -> str:
    """The Temporal identity of a worker process: the SDK's default, pid@hostname (the
    namespaces share the machine's hostname and pid space, not its network)."""
    return f"{process.pid}@{socket.gethostname()}"


def start(host: Host, settings: Settings, service: stack.Service) -> subprocess.Popen[bytes]:
    """Run a process of the stack on `host`, configured by its environment alone."""
    env = {
        **stack.child_environment(settings),
        "VEILSYNC_DATABASE_URL": settings.database_url,
        "VEILSYNC_SECRET_KEY": settings.secret_key,
        "VEILSYNC_CODEC_KEY": settings.codec_key,
    }
    return host.start(service.name, service.argv, env)


def log_tails(logs: Path) -> str:
    """The tail of each process's log, for a failure message."""
    return "".join(
        f"\n--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
        for path in sorted(logs.glob("*.log"))
    )


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, logs: Path, timeout_s: float = START_TIMEOUT_S
) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout_s:.0f}s{log_tails(logs)}", pytrace=False)
        await asyncio.sleep(0.5)


@dataclass
class Deployment:
    hosts: dict[str, Host]
    # postgresql://postgres@ADDRESS:5432, the db host's server; append a database name.
    server: str
    settings: dict[str, Settings]
    services: dict[str, stack.Service]
    # The role of a worker's host -> its process.
    workers: dict[str, subprocess.Popen[bytes]]
    temporal: Client  # the test's own view of the server, to observe the run
    cli: Cli  # the user's, from outside every host
    logs: Path

    def start(self, role: str, service: str) -> subprocess.Popen[bytes]:
        return start(self.hosts[role], self.settings[role], self.services[service])

    async def eventually(self, check: Callable[[], Awaitable[bool]], what: str) -> None:
        await eventually(check, what, self.logs)

    async def pollers(self, queue: str) -> set[str]:
        """Identities that polled the activity task queue lately."""
        described = await self.temporal.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=self.temporal.namespace,
                task_queue=TaskQueue(name=queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
            )
        )
        return {poller.identity for poller in described.pollers}


def _requirements() -> None:
    for reason in (hosts.missing(), postgres.missing(), stack.ml_worker_skip_reason()):
        if reason:
            unavailable(reason)
    try:
        dev_server_binary()
    except FileNotFoundError as err:
        unavailable(str(err))


def _on_every_interface(temporal: stack.Service) -> stack.Service:
    """The dev server on 0.0.0.0 of its host: bound to one address only, its frontend still
    dials its own matching and history services on 127.0.0.1, which then refuse."""
    argv = list(temporal.argv)
    argv[argv.index("--ip") + 1] = "0.0.0.0"
    return dataclasses.replace(temporal, argv=argv)


def _settings(machines: dict[str, Host], server: str, data: Path) -> dict[str, Settings]:
    shared = Settings(
        api=f"{machines['api'].address}:50051",
        temporal_address=f"{machines['temporal'].address}:7233",
        database_url=f"{server}/metadata",
        secret_key=Fernet.generate_key().decode(),
        codec_key=new_key(),
    )
    return {role: shared.model_copy(update={"data_dir": data / role}) for role in ROLES}


@pytest.fixture
async def deployment(tmp_path: Path) -> AsyncIterator[Deployment]:
    _requirements()
    logs = tmp_path / "logs"
    logs.mkdir()
    with hosts.network(ROLES, logs) as machines, postgres.postgres_on(machines["db"]) as server:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            for name in DATABASES:
                conn.execute(f"CREATE DATABASE {name}")
        settings = _settings(machines, server, tmp_path)
        for each in settings.values():
            each.data_dir.mkdir()
        services = {s.name: s for s in stack.services(settings["temporal"])}
        services["temporal"] = _on_every_interface(services["temporal"])
        for role in ("temporal", "api"):
            start(machines[role], settings[role], services[role])
            ready = services[role].ready
            assert ready is not None
            await eventually(functools.partial(asyncio.to_thread, ready), f"{role} serving", logs)
        workers = {
            role: start(machines[role], settings[role], services[service])
            for role, service in WORKERS.items()
        }
        shared = settings["api"]
        # The API's first key, as a user of the API host would read it.
        key = (shared.data_dir / "api-key").read_text().strip()
        cli = Cli(
            env={**os.environ, "VEILSYNC_API": shared.api, "VEILSYNC_API_KEY": key},
            cwd=tmp_path,
        )
        temporal = await Client.connect(shared.temporal_address)
        deployment = Deployment(machines, server, settings, services, workers, temporal, cli, logs)

        async def polling() -> bool:
            found = await deployment.pollers(shared.sync_task_queue)
            found |= await deployment.pollers(shared.ml_task_queue)
            return all(identity(worker) in found for worker in workers.values())

        await deployment.eventually(polling, "worker polling on each worker host")
        yield deployment
