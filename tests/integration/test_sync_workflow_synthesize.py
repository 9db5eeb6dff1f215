"""A sync run that synthesizes one table: DataSyncWorkflow on the sync queue hands orders to
TrainModelWorkflow and SampleModelWorkflow on the ml queue, in its foreign-key slot, and the
destination's foreign keys all hold (customers' keys are scrambled on the way)."""

import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

torch = pytest.importorskip("torch")

from services.common import contract  # noqa: E402
from services.common.model_files import ModelFiles  # noqa: E402
from services.common.secrets import SecretCipher  # noqa: E402
from services.common.store.models_store import ModelStore  # noqa: E402
from services.common.store.store import MetadataStore  # noqa: E402
from services.ml_worker.worker import MAX_CONCURRENT_ACTIVITIES as ML_ACTIVITIES  # noqa: E402
from services.ml_worker.worker import build_ml_worker  # noqa: E402
from services.sync_worker.worker import MAX_CONCURRENT_ACTIVITIES as SYNC_ACTIVITIES  # noqa: E402
from services.sync_worker.worker import build_worker  # noqa: E402
from tests.integration.shop import rows  # noqa: E402
from tests.integration.test_sync_workflow import FakeDirectory, shop_setup  # noqa: E402
from veilsync.temporal.v1 import sync_pb2  # noqa: E402
from veilsync.v1 import job_pb2, model_pb2  # noqa: E402

pytestmark = [pytest.mark.ml, pytest.mark.integration]


@dataclass
class Workers:
    client: Client
    sync_queue: str
    directory: FakeDirectory
    models: ModelStore


@pytest.fixture
async def workers(tmp_path: Path, temporal_env: WorkflowEnvironment) -> AsyncIterator[Workers]:
    """An in-process sync worker and an in-process ML worker, each on its own queue."""
    url = f"sqlite:///{tmp_path / 'metadata.db'}"
    MetadataStore(url, SecretCipher(b"0" * 43 + b"=")).migrate()
    models = ModelStore(url)
    directory = FakeDirectory()
    suffix = uuid.uuid4().hex[:8]
    sync_queue, ml_queue = f"sync-{suffix}", f"ml-{suffix}"
    client = temporal_env.client
    with (
        ThreadPoolExecutor(ML_ACTIVITIES) as ml_executor,
        ThreadPoolExecutor(SYNC_ACTIVITIES) as executor,
    ):
        ml_worker = build_ml_worker(
            client,
            directory,
            models,
            ModelFiles(tmp_path / "models"),
            torch.device("cpu"),
            b"test-secret",
            ml_executor,
            task_queue=ml_queue,
        )
        sync_worker = build_worker(
            client, directory, executor, task_queue=sync_queue, ml_task_queue=ml_queue
        )
        async with ml_worker, sync_worker:
            yield Workers(client, sync_queue, directory, models)
    models.close()


async def _run(workers: Workers) -> sync_pb2.DataSyncWorkflowResult:
    result: sync_pb2.DataSyncWorkflowResult = await workers.client.execute_workflow(
        contract.DATA_SYNC_WORKFLOW,
        sync_pb2.DataSyncWorkflowInput(job_id="job-1", account_id="default"),
        id=f"run-{uuid.uuid4().hex}",
        task_queue=workers.sync_queue,
        result_type=sync_pb2.DataSyncWorkflowResult,
    )
    return result


async def test_a_synthesized_table_runs_on_the_ml_queue_with_valid_foreign_keys(
    workers: Workers, pg_database: Callable[[str], str]
) -> None:
    source, destination = shop_setup(pg_database, workers.directory)
    job = workers.directory.jobs["job-1"]
    customers = next(m for m in job.mappings if m.table == "customers")
    for column in ("id", "referred_by"):
        customers.columns[column].transform_scramble_identity.SetInParent()
    # The job's own check wants references mapped alike; the synthesized orders ignore it.
    job.mappings.add(table="orders").columns[
        "customer_id"
    ].transform_scramble_identity.SetInParent()
    job.synthesize.add(table="orders", kind=model_pb2.MODEL_KIND_GAUSSIAN_COPULA, seed=3)

    result = await _run(workers)

    progress = {t.table: t for t in result.progress.tables}
    assert all(t.status == job_pb2.TABLE_SYNC_STATUS_SUCCEEDED for t in progress.values())
    assert progress["public.orders"].rows_written == 150  # the source's row count
    assert progress["public.order_items"].rows_written == 400
    assert rows(destination, "SELECT count(*) FROM orders") == [(150,)]
    # Parents copied with transformed keys: the synthesized orders point at the new keys.
    assert rows(destination, "SELECT count(*) FROM customers WHERE id <= 60") != [(60,)]
    orphans = """
        SELECT (SELECT count(*) FROM orders o LEFT JOIN customers c ON c.id = o.customer_id
                WHERE c.id IS NULL),
               (SELECT count(*) FROM order_items i LEFT JOIN orders o ON o.id = i.order_id
                WHERE o.id IS NULL)
    """
    assert rows(destination, orphans) == [(0, 0)]
    assert rows(destination, "SELECT count(DISTINCT customer_id) > 20 FROM orders") == [(True,)]
    statuses = {r[0] for r in rows(destination, "SELECT DISTINCT status::text FROM orders")}
    assert statuses <= {"new", "paid", "shipped"}
    assert rows(source, "SELECT count(*) FROM orders") == [(150,)]
    [model] = workers.models.list("default").items
    assert model.name == "shop-orders"
    assert model.status == model_pb2.MODEL_STATUS_READY

    # The next run reuses the model; order_items, now synthesized too, points at its rows.
    job.synthesize[0].row_count = 30
    job.synthesize.add(table="order_items", kind=model_pb2.MODEL_KIND_GAUSSIAN_COPULA)
    result = await _run(workers)
    written = {t.table: t.rows_written for t in result.progress.tables}
    assert written == {"public.customers": 60, "public.orders": 30, "public.order_items": 400}
    assert rows(destination, orphans) == [(0, 0)]
    assert [m.name for m in workers.models.list("default").items] == [
        "shop-order_items",
        "shop-orders",
    ]
