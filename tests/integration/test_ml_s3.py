"""Two ML worker processes that share nothing but an S3-compatible store (moto's server mode)
and the metadata database: one trains a model, the other samples it, with no local model
directory in common."""

import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

pytest.importorskip("torch")

import torch

from services.common import ml_contract
from services.common.model_files import ModelFiles
from services.common.object_store import S3ObjectStore
from services.ml_worker.worker import MAX_CONCURRENT_ACTIVITIES, build_ml_worker
from tests.integration.ml_worker_process import Directory
from tests.integration.test_ml_resume import ACCOUNT, orders_model, start_worker, stop_worker
from tests.s3_server import BUCKET, s3_endpoint
from veilsync.temporal.v1 import ml_pb2
from veilsync.v1 import model_pb2

__all__ = ["s3_endpoint"]  # the fixture, imported for pytest

pytestmark = [pytest.mark.ml, pytest.mark.integration]

PREFIX = "deploy/models"


async def test_a_model_trained_by_one_worker_samples_on_another(
    tmp_path: Path,
    temporal_env: WorkflowEnvironment,
    pg_database: Callable[[str], str],
    s3_endpoint: str,
) -> None:
    source, metadata_url, models, model = orders_model(
        tmp_path, pg_database, "s3", model_pb2.MODEL_KIND_GAUSSIAN_COPULA
    )
    train_queue, sample_queue = (f"ml-s3-{uuid.uuid4().hex[:8]}" for _ in range(2))
    config = {
        "temporal": temporal_env.client.service_client.config.target_host,
        "queue": train_queue,
        "urls": {"src": source},
        "metadata_url": metadata_url,
        # A directory of its own that this test never reads: the model must go to S3.
        "models_dir": str(tmp_path / "trainer-disk"),
        "artifact_store": f"s3://{BUCKET}/{PREFIX}",
        "s3_endpoint_url": s3_endpoint,
        "epoch_pause": 0,
    }
    path = tmp_path / "ml_worker.json"
    path.write_text(json.dumps(config))
    trainer = start_worker(path)
    try:
        trained = await temporal_env.client.execute_workflow(
            ml_contract.TRAIN_MODEL_WORKFLOW,
            ml_pb2.TrainModelWorkflowInput(
                account_id=ACCOUNT,
                model_id=model.id,
                source_connection_id="src",
                schema="public",
                table="orders",
                kind=model_pb2.MODEL_KIND_GAUSSIAN_COPULA,
                options=model_pb2.TrainingOptions(epochs=1, max_rows=1000, seed=1),
            ),
            id=ml_contract.train_workflow_id(model.id),
            task_queue=train_queue,
            result_type=ml_pb2.TrainModelWorkflowResult,
        )
    finally:
        stop_worker(trainer)
    assert trained.training_rows > 0
    assert not (tmp_path / "trainer-disk").exists()

    # Another worker, another store instance over the same bucket; the trainer is gone.
    files = ModelFiles(S3ObjectStore(BUCKET, PREFIX, s3_endpoint))
    assert files.exists(files.model_key(ACCOUNT, model.id, "model.pt"))
    with ThreadPoolExecutor(MAX_CONCURRENT_ACTIVITIES) as executor:
        sampler = build_ml_worker(
            temporal_env.client,
            Directory({"src": source}),
            models,
            files,
            torch.device("cpu"),
            b"resume-secret",  # the trainer's secret: one deployment, one secret
            executor,
            task_queue=sample_queue,
        )
        async with sampler:
            sampled: ml_pb2.SampleModelWorkflowResult = await temporal_env.client.execute_workflow(
                ml_contract.SAMPLE_MODEL_WORKFLOW,
                ml_pb2.SampleModelWorkflowInput(
                    account_id=ACCOUNT, model_id=model.id, preview=True, row_count=5, seed=3
                ),
                id=f"sample-{uuid.uuid4().hex}",
                task_queue=sample_queue,
                result_type=ml_pb2.SampleModelWorkflowResult,
            )
    models.close()
    assert len(sampled.rows) == 5
    assert {"status", "amount", "paid"} <= set(sampled.columns)
