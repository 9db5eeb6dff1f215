"""Composition root of the sync worker: the one place that builds its ports."""

import asyncio
import logging
from concurrent.futures import Executor, Future

import pyarrow as pa
from temporalio.client import Client
from temporalio.worker import Worker

from services.contract.ml_worker_temporal import ML_TASK_QUEUE
from services.contract.sync_worker_temporal import SET_SYNC_PROGRESS_SIGNAL, SYNC_TASK_QUEUE
from services.engine.copy.table_copy import CHUNK_ROWS
from services.sync_worker.activities import JobDirectory, ProgressSender, SyncActivities
from services.sync_worker.generate_activities import GenerateActivities
from services.sync_worker.generate_workflow import GenerateWorkflow
from services.sync_worker.hooks import RunHookActivities
from services.sync_worker.workflows import DataSyncWorkflow
from veilsync.temporal.v1 import sync_pb2

log = logging.getLogger(__name__)

MAX_CONCURRENT_ACTIVITIES = 8


def release_memory_promptly() -> None:
    """Arrow's jemalloc pool, returning freed pages at once: batches come and go all day, and
    the default pool keeps their high-water mark resident (measured: bench/memory.py)."""
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
        pa.jemalloc_set_decay_ms(0)
    except NotImplementedError:  # a pyarrow built without jemalloc keeps its default
        log.info("pyarrow has no jemalloc pool; keeping %s", pa.default_memory_pool().backend_name)


def progress_sender(client: Client, loop: asyncio.AbstractEventLoop) -> ProgressSender:
    """Signals progress from activity threads through the worker's event loop, without
    waiting: a lost progress signal only delays a counter, never the copy."""

    def send(
        workflow_id: str, run_id: str, request: sync_pb2.SetSyncProgressRequest
    ) -> "Future[None]":
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        future = asyncio.run_coroutine_threadsafe(
            SET_SYNC_PROGRESS_SIGNAL.signal(handle, request), loop
        )
        future.add_done_callback(_log_failure)
        return future

    return send


def _log_failure(future: "Future[None]") -> None:
    if not future.cancelled() and (error := future.exception()) is not None:
        log.warning("progress signal failed: %s", error)


def build_worker(
    client: Client,
    directory: JobDirectory,
    executor: Executor,
    task_queue: str = SYNC_TASK_QUEUE,
    chunk_rows: int = CHUNK_ROWS,
    ml_task_queue: str = ML_TASK_QUEUE,
    privacy_report: bool = True,
    binary_copy: bool = True,
) -> Worker:
    """`privacy_report` off skips the runs' privacy reports: for benchmarks only.
    `binary_copy` off copies PostgreSQL to PostgreSQL as CSV (Settings.copy_format)."""
    sender = progress_sender(client, asyncio.get_running_loop())
    activities = SyncActivities(
        directory, sender, chunk_rows, ml_task_queue, privacy_report, binary_copy
    )
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[DataSyncWorkflow, GenerateWorkflow],
        activities=[
            *activities.all(),
            *GenerateActivities(directory, sender, chunk_rows).all(),
            RunHookActivities(directory).deliver_run_hooks,
        ],
        activity_executor=executor,
        max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
    )
