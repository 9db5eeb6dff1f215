"""Shared scaffolding of the benchmarks: scratch databases, a dev server, a worker."""

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import psycopg
from google.protobuf import json_format
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from services.cli.stack import separate_env
from services.common import contract
from services.common.temporal import dev_server_binary
from services.sync_worker.worker import (
    MAX_CONCURRENT_ACTIVITIES,
    build_worker,
    release_memory_promptly,
)
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2, transformer_pb2

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def scratch_databases(*labels: str) -> Iterator[list[str]]:
    names = [f"vs_bench_{label}_{uuid.uuid4().hex[:8]}" for label in labels]
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield [ADMIN_URL.rsplit("/", 1)[0] + "/" + name for name in names]
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_with_rows_and_samples(doc: str | None, main: Callable[[int, int], None]) -> None:
    """`main(rows, samples)` from a command line of --rows (1M) and --samples (3)."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=3)
    args = parser.parse_args()
    main(args.rows, args.samples)


T = TypeVar("T")


def in_turns(ways: dict[str, T], samples: int) -> Iterator[tuple[int, str, T]]:
    """(sample, name, way) for every way in every sample, in reverse order every other
    sample, so no way always runs first."""
    for sample in range(samples):
        for name, way in list(ways.items())[:: -1 if sample % 2 else 1]:
            yield sample, name, way


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def spread(seconds: list[float]) -> str:
    """Samples as 'median m s (min-max, n runs)': a ratio means little without its spread."""
    return (
        f"median {statistics.median(seconds):.2f} s "
        f"({min(seconds):.2f}-{max(seconds):.2f} s, {len(seconds)} runs)"
    )


def psql_pipe(source: str, destination: str, tables: list[str]) -> None:
    """The baseline: the database's own COPY out piped into COPY in, table by table."""
    for table in tables:
        out = subprocess.Popen(
            ["psql", "-qAt", source, "-c", f"COPY {table} TO STDOUT"], stdout=subprocess.PIPE
        )
        subprocess.run(
            ["psql", "-qAt", destination, "-c", f"COPY {table} FROM STDIN"],
            stdin=out.stdout,
            check=True,
        )
        if out.wait() != 0:
            raise RuntimeError(f"COPY out of {table} failed")


@dataclass(frozen=True)
class CliStack:
    """`veilsync ...` run as a user runs it, against a stack of its own (`veilsync dev up` on
    free ports, its own data dir), as tests/e2e does (bench/ may not import tests/)."""

    env: dict[str, str]

    def __call__(self, *args: str, timeout: float = 1800) -> str:
        """The command's stdout; a failure raises with its stderr."""
        done = subprocess.run(
            [str(Path(sys.executable).with_name("veilsync")), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"veilsync {' '.join(args)} exited {done.returncode}: {done.stderr}")
        return done.stdout


@contextlib.contextmanager
def cli_stack() -> Iterator[CliStack]:
    with tempfile.TemporaryDirectory(prefix="vs-bench-") as data_dir:
        cli = CliStack(separate_env(Path(data_dir)))
        cli("dev", "up", timeout=300)
        try:
            yield cli
        finally:
            cli("dev", "down", timeout=120)


@dataclass
class StaticDirectory:
    """The metadata store's read side for a benchmark: fixed connections and one job."""

    urls: dict[str, str]
    job: job_pb2.Job
    key: bytes = b"benchmark-key-0123456789"
    calls: list[str] = field(default_factory=list)

    def connection_url(self, account_id: str, connection_id: str) -> str:
        return self.urls[connection_id]

    def get_job(
        self, account_id: str, *, job_id: str | None = None, name: str | None = None
    ) -> job_pb2.Job:
        return self.job

    def transform_key(self, account_id: str, job_id: str) -> bytes:
        return self.key

    def connection_id_by_name(self, account_id: str, name: str) -> str:
        return name

    def saved_transformer(
        self, account_id: str, name: str
    ) -> transformer_pb2.TransformerConfig | None:
        return None  # no saved transformers

    def hook_secret(self, account_id: str, job_id: str) -> bytes:
        return b""


@contextlib.contextmanager
def worker_processes(
    count: int,
    directory: StaticDirectory,
    temporal: str,
    queue: str,
    privacy_report: bool = True,
) -> Iterator[None]:
    """`count` more sync workers on `queue`, each in its own process (bench.worker_process)."""
    config = {
        "temporal": temporal,
        "queue": queue,
        "urls": directory.urls,
        "job": json_format.MessageToDict(directory.job),
        "key": directory.key.decode(),
        "privacy_report": privacy_report,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        json.dump(config, file)
        file.flush()
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "bench.worker_process", file.name],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]
        try:
            for worker in workers:
                assert worker.stdout is not None and "ready" in worker.stdout.readline()
            yield
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait(30)


@contextlib.asynccontextmanager
async def sync_worker(
    directory: StaticDirectory, processes: int = 1, privacy_report: bool = True
) -> AsyncIterator[tuple[Client, str]]:
    """A dev server and a worker in this process, plus processes - 1 worker processes; with
    `privacy_report` off, runs skip their privacy reports (to measure what they cost)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(dev_server_binary()),
        dev_server_extra_args=["--headless", "--log-level", "error"],
    )
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    release_memory_promptly()  # as the worker's own main does
    address = env.client.service_client.config.target_host
    try:
        with (
            worker_processes(processes - 1, directory, address, queue, privacy_report),
            ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor,
        ):
            async with build_worker(
                env.client, directory, executor, task_queue=queue, privacy_report=privacy_report
            ):
                yield env.client, queue
    finally:
        await env.shutdown()


async def run_sync(client: Client, queue: str) -> sync_pb2.DataSyncWorkflowResult:
    result: sync_pb2.DataSyncWorkflowResult = await client.execute_workflow(
        contract.DATA_SYNC_WORKFLOW,
        sync_pb2.DataSyncWorkflowInput(job_id="bench", account_id="bench"),
        id=f"bench-{uuid.uuid4().hex}",
        task_queue=queue,
        result_type=sync_pb2.DataSyncWorkflowResult,
    )
    return result
