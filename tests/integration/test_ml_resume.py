"""An ML worker killed with SIGKILL mid-training: the training moves to a new worker process
after its heartbeat times out, and the first-party VAE resumes from its last epoch checkpoint
instead of starting over."""

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from temporalio.testing import WorkflowEnvironment

pytest.importorskip("torch")

from services.common import ml_contract
from services.common.secrets import SecretCipher
from services.common.store.models_store import ModelStore
from services.common.store.store import MetadataStore
from tests.integration.test_ml_workflows import TABLE_SQL
from veilsync.temporal.v1 import ml_pb2
from veilsync.v1 import model_pb2

pytestmark = [pytest.mark.ml, pytest.mark.integration]

EPOCHS = 12
ACCOUNT = "default"


def start_worker(path: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.ml_worker_process", str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "worker ready"
    return process


def stop_worker(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def orders_model(
    tmp_path: Path, pg_database: Callable[[str], str], name: str, kind: int
) -> tuple[str, str, ModelStore, model_pb2.Model]:
    """A fresh source database holding the orders table, a fresh metadata store, and a model
    named `name` in training there: (source URL, metadata URL, model store, model)."""
    source = pg_database(f"ml{name}")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(TABLE_SQL)
    metadata_url = f"sqlite:///{tmp_path / 'metadata.db'}"
    MetadataStore(metadata_url, SecretCipher(b"0" * 43 + b"=")).migrate()
    models = ModelStore(metadata_url)
    model = models.create(
        ACCOUNT, model_pb2.Model(name=name, kind=kind, status=model_pb2.MODEL_STATUS_TRAINING)
    )
    return source, metadata_url, models, model


async def test_a_killed_ml_worker_resumes_training_from_its_checkpoint(
    tmp_path: Path, temporal_env: WorkflowEnvironment, pg_database: Callable[[str], str]
) -> None:
    source, metadata_url, models, model = orders_model(
        tmp_path, pg_database, "kill", model_pb2.MODEL_KIND_VEILSYNC_VAE
    )
    queue = f"ml-kill-{uuid.uuid4().hex[:8]}"
    config = {
        "temporal": temporal_env.client.service_client.config.target_host,
        "queue": queue,
        "urls": {"src": source},
        "metadata_url": metadata_url,
        "models_dir": str(tmp_path / "models"),
        "epoch_pause": 0.3,
    }
    path = tmp_path / "ml_worker.json"
    path.write_text(json.dumps(config))
    request = ml_pb2.TrainModelWorkflowInput(
        account_id=ACCOUNT,
        model_id=model.id,
        source_connection_id="src",
        schema="public",
        table="orders",
        kind=model_pb2.MODEL_KIND_VEILSYNC_VAE,
        options=model_pb2.TrainingOptions(epochs=EPOCHS, batch_size=50, max_rows=1000, seed=1),
    )
    request.heartbeat_timeout.FromTimedelta(timedelta(seconds=2))
    first = start_worker(path)
    second: subprocess.Popen[str] | None = None
    try:
        handle = await temporal_env.client.start_workflow(
            ml_contract.TRAIN_MODEL_WORKFLOW,
            request,
            id=ml_contract.train_workflow_id(model.id),
            task_queue=queue,
            result_type=ml_pb2.TrainModelWorkflowResult,
        )
        for _ in range(400):
            answer = await handle.query(
                ml_contract.GET_TRAINING_PROGRESS_QUERY,
                ml_pb2.GetTrainingProgressRequest(),
                result_type=ml_pb2.GetTrainingProgressResponse,
            )
            if answer.progress.epoch >= 3:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("training never reached epoch 3")
        first.kill()  # SIGKILL mid-epoch: no cleanup, no final heartbeat
        first.wait()
        second = start_worker(path)
        result = await asyncio.wait_for(handle.result(), timeout=60)
    finally:
        for process in (first, second):
            if process is not None:
                stop_worker(process)
    assert result.epochs == EPOCHS
    assert 3 <= result.resumed_epochs < EPOCHS  # resumed, not restarted from epoch 0
    stored = models.get(ACCOUNT, model.id)
    assert stored.status == model_pb2.MODEL_STATUS_READY
    assert stored.progress.epoch == EPOCHS
    description = await handle.describe()
    assert description.status is not None and description.status.name == "COMPLETED"
    models.close()
