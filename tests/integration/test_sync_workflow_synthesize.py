"""A sync run that synthesizes one table: DataSyncWorkflow on the sync queue hands orders to
TrainModelWorkflow and SampleModelWorkflow on the ml queue, in its foreign-key slot, and the
destination's foreign keys all hold (customers' keys are scrambled on the way)."""

import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

torch = pytest.importorskip("torch")

from services.common import contract  # noqa: E402
from services.common.model_files import ModelFiles  # noqa: E402
from services.common.object_store import LocalObjectStore  # noqa: E402
from services.common.secrets import SecretCipher  # noqa: E402
from services.common.store.models_store import ModelStore  # noqa: E402
from services.common.store.store import MetadataStore  # noqa: E402
from services.ml_worker.worker import MAX_CONCURRENT_ACTIVITIES as ML_ACTIVITIES  # noqa: E402
from services.ml_worker.worker import build_ml_worker  # noqa: E402
from services.sync_worker.worker import MAX_CONCURRENT_ACTIVITIES as SYNC_ACTIVITIES  # noqa: E402
from services.sync_worker.worker import build_worker  # noqa: E402
from tests.believable import CITY, E164, HEX, STREET, ZIP  # noqa: E402
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
            ModelFiles(LocalObjectStore(tmp_path / "models")),
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
    # The run reports the model's quality and privacy, measured on the 30 rows it held out.
    evaluation = progress["public.orders"].model_evaluation
    assert evaluation.holdout_rows == 30 and evaluation.quality_score > 0
    assert evaluation.dcr_rows > 0 and not evaluation.memorizes
    assert not progress["public.order_items"].HasField("model_evaluation")
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
    reused = next(t for t in result.progress.tables if t.table == "public.orders")
    assert reused.model_evaluation == evaluation  # the reused model's own
    assert rows(destination, orphans) == [(0, 0)]
    assert [m.name for m in workers.models.list("default").items] == [
        "shop-order_items",
        "shop-orders",
    ]


# The customers table of the issue: free-text personal columns a copula cannot learn, next to
# a number and a category it can.
CUSTOMERS_SQL = """
CREATE TABLE customers (
    id integer PRIMARY KEY,
    city text NOT NULL,
    address varchar(80) NOT NULL,
    postal_code varchar(10) NOT NULL,
    phone varchar(24) NOT NULL,
    tier text NOT NULL,
    spent numeric(10, 2) NOT NULL
);
INSERT INTO customers
SELECT i, 'Town ' || i, i || ' Elm Street', lpad((10000 + i * 7)::text, 5, '0'),
       '+1555' || lpad(i::text, 7, '0'), (ARRAY['gold', 'silver'])[1 + i % 2], 10 + i % 17
FROM generate_series(1, 59) AS i;
"""


async def test_synthesized_personal_columns_are_generated_not_hex_slices(
    workers: Workers, pg_database: Callable[[str], str]
) -> None:
    source, destination = pg_database("src"), pg_database("dst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(CUSTOMERS_SQL)
    workers.directory.urls.update(prod=source, qa=destination)
    job = job_pb2.Job(id="job-1", name="crm")
    job.source.connection = "prod"
    job.destinations.add(connection="qa", truncate_before_insert=True, init_schema=True)
    job.synthesize.add(table="customers", kind=model_pb2.MODEL_KIND_GAUSSIAN_COPULA, seed=5)
    workers.directory.jobs[job.id] = job

    result = await _run(workers)

    assert result.progress.tables[0].rows_written == 59
    synthesized = rows(destination, "SELECT city, address, postal_code, phone, tier FROM customers")
    for city, address, postal_code, phone, tier in synthesized:
        assert CITY.match(city) and STREET.match(address), (city, address)
        assert ZIP.match(postal_code) and E164.match(phone), (postal_code, phone)
        assert not any(HEX.match(v) for v in (city, address, postal_code, phone))
        assert not phone.startswith(postal_code)  # no longer slices of one digest per row
        assert tier in ("gold", "silver")  # what the model learned stays the model's
    # Generated, not copied from the source.
    real = set(rows(source, "SELECT city FROM customers"))
    assert not real & set(rows(destination, "SELECT city FROM customers"))
