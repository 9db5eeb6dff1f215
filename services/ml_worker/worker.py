"""Composition root of the ML worker: the one place that builds its ports."""

import asyncio
import logging
from concurrent.futures import Executor, Future

import torch
from temporalio.client import Client
from temporalio.worker import Worker

from services.common import ml_contract
from services.common.model_files import ModelFiles
from services.ml_worker.activities import (
    BackendFor,
    ConnectionDirectory,
    MlActivities,
    ModelRegistry,
)
from services.ml_worker.artifacts import ArtifactStore
from services.ml_worker.backends import backend_for
from services.ml_worker.workflows import (
    SampleModelWorkflow,
    TrainModelWorkflow,
    ValidateUploadWorkflow,
)
from veilsync.temporal.v1 import ml_pb2

log = logging.getLogger(__name__)

# One GPU trains one model at a time; sampling and validation share the rest.
MAX_CONCURRENT_ACTIVITIES = 2


def build_ml_worker(
    client: Client,
    directory: ConnectionDirectory,
    models: ModelRegistry,
    files: ModelFiles,
    device: torch.device,
    secret: bytes,
    executor: Executor,
    task_queue: str = ml_contract.ML_TASK_QUEUE,
    backends: BackendFor = backend_for,
) -> Worker:
    loop = asyncio.get_running_loop()

    def send(workflow_id: str, run_id: str, request: ml_pb2.SetTrainingProgressRequest) -> None:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        future = asyncio.run_coroutine_threadsafe(
            handle.signal(ml_contract.SET_TRAINING_PROGRESS_SIGNAL, request), loop
        )
        future.add_done_callback(_log_failure)

    activities = MlActivities(
        directory, models, ArtifactStore(files, device), send, secret, backends
    )
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[TrainModelWorkflow, SampleModelWorkflow, ValidateUploadWorkflow],
        activities=activities.all(),
        activity_executor=executor,
        max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
    )


def _log_failure(future: "Future[None]") -> None:
    if not future.cancelled() and (error := future.exception()) is not None:
        log.warning("training progress signal failed: %s", error)
