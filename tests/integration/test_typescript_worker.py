"""A sync run on the Python stack whose synthesized table names a model served on another
task queue: the TypeScript worker (workers/typescript-model, node dist/worker.js) samples the
uploaded ONNX model into the destination through its "sample_model" activity, with the
stack's payload codec and artifact store."""

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from temporalio.api.enums.v1 import EventType

onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper  # noqa: E402

from services.common.model_files import models_dir  # noqa: E402
from services.sync_worker.worker import MAX_CONCURRENT_ACTIVITIES, build_worker  # noqa: E402
from tests.integration.conftest import Api  # noqa: E402
from tests.integration.shop import rows  # noqa: E402
from tests.integration.test_ml_api import CHUNK, ml_api  # noqa: E402, F401
from tests.servers import unavailable  # noqa: E402
from veilsync.v1 import connection_pb2 as c  # noqa: E402
from veilsync.v1 import job_pb2 as j  # noqa: E402
from veilsync.v1 import model_pb2 as m  # noqa: E402

pytestmark = [pytest.mark.ml, pytest.mark.integration]

WORKER = Path(__file__).parents[2] / "workers/typescript-model/dist/worker.js"
IDENTITY_PREFIX = "veilsync-typescript-model@"  # src/worker.ts
ROWS = 250
SCHEMA_SQL = """
CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE payments (
    id bigint PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers (id),
    amount double precision NOT NULL,
    paid_at timestamp NOT NULL,
    refunded boolean NOT NULL
);
"""
SOURCE_SQL = """
INSERT INTO customers SELECT i, 'customer ' || i FROM generate_series(1, 20) i;
INSERT INTO payments
SELECT i, 1 + i % 20, i * 1.5, timestamp '2024-01-01' + i * interval '1 hour', i % 3 = 0
FROM generate_series(1, 40) i;
"""
COLUMNS = [
    m.ModelColumn(name="id", type=m.MODEL_COLUMN_TYPE_INTEGER),
    m.ModelColumn(name="customer_id", type=m.MODEL_COLUMN_TYPE_INTEGER),
    m.ModelColumn(name="amount", type=m.MODEL_COLUMN_TYPE_FLOAT),
    m.ModelColumn(name="paid_at", type=m.MODEL_COLUMN_TYPE_DATETIME),
    m.ModelColumn(name="refunded", type=m.MODEL_COLUMN_TYPE_BOOLEAN),
]


def payments_model() -> bytes:
    """Row i (1..row_count) of a batch: id seed + i, customer_id 0 (the sampler draws it from
    the destination's customers), amount i mod 97, paid_at 2023-11-14 + i hours, refunded
    for even i."""

    def const(name: str, value: int) -> onnx.NodeProto:
        tensor = helper.make_tensor(name, TensorProto.INT64, [], [value])
        return helper.make_node("Constant", [], [name], value=tensor)

    nodes = [
        const("one", 1),
        const("zero", 0),
        const("two", 2),
        const("ninety_seven", 97),
        const("hour", 3600),
        const("epoch", 1_700_000_000),
        helper.make_node("Add", ["row_count", "one"], ["end"]),
        helper.make_node("Range", ["one", "end", "one"], ["i"]),
        helper.make_node("Add", ["i", "seed"], ["id"]),
        helper.make_node("Mul", ["i", "zero"], ["customer_id"]),
        helper.make_node("Mod", ["i", "ninety_seven"], ["i_mod_97"]),
        helper.make_node("Cast", ["i_mod_97"], ["amount"], to=TensorProto.DOUBLE),
        helper.make_node("Mul", ["i", "hour"], ["hours"]),
        helper.make_node("Add", ["hours", "epoch"], ["paid_at"]),
        helper.make_node("Mod", ["i", "two"], ["parity"]),
        helper.make_node("Equal", ["parity", "zero"], ["refunded"]),
    ]
    outputs = {
        "id": TensorProto.INT64,
        "customer_id": TensorProto.INT64,
        "amount": TensorProto.DOUBLE,
        "paid_at": TensorProto.INT64,
        "refunded": TensorProto.BOOL,
    }
    graph = helper.make_graph(
        nodes,
        "payments",
        [
            helper.make_tensor_value_info("row_count", TensorProto.INT64, []),
            helper.make_tensor_value_info("seed", TensorProto.INT64, []),
        ],
        [helper.make_tensor_value_info(name, kind, ["n"]) for name, kind in outputs.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


@pytest.fixture
async def sync_worker(ml_api: Api) -> AsyncIterator[Api]:  # noqa: F811
    """The stack's sync worker, handing synthesized tables to the stack's ML queue."""
    with ThreadPoolExecutor(MAX_CONCURRENT_ACTIVITIES) as executor:
        async with build_worker(
            ml_api.temporal,
            ml_api.store,
            executor,
            ml_api.settings.sync_task_queue,
            ml_task_queue=ml_api.settings.ml_task_queue,
        ):
            yield ml_api


@pytest.fixture
def typescript_worker(
    sync_worker: Api, tmp_path: Path
) -> Iterator[Callable[[dict[str, str]], str]]:
    """Starts `node dist/worker.js` on a fresh queue, given the destinations it may write."""
    if shutil.which("node") is None or not WORKER.exists():
        unavailable("the TypeScript worker is not built: make test builds it")
    api, started = sync_worker, []

    def start(connections: dict[str, str]) -> str:
        queue = f"onnx-{uuid.uuid4().hex[:8]}"
        urls = tmp_path / "connections.json"
        urls.write_text(json.dumps(connections))
        urls.chmod(0o600)
        client = api.raw_temporal
        env = {
            **os.environ,
            "VEILSYNC_TEMPORAL_ADDRESS": client.service_client.config.target_host,
            "VEILSYNC_TEMPORAL_NAMESPACE": client.namespace,
            "VEILSYNC_ONNX_TASK_QUEUE": queue,
            "VEILSYNC_CODEC_KEY": api.settings.codec_key,
            "VEILSYNC_MODELS_DIR": str(models_dir(api.settings)),
            "VEILSYNC_CONNECTIONS_FILE": str(urls),
        }
        with (tmp_path / "typescript-worker.log").open("w") as log:
            process = subprocess.Popen(
                ["node", str(WORKER)], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        started.append(process)
        return queue

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)
    print((tmp_path / "typescript-worker.log").read_text())


async def _upload_onnx(api: Api, name: str, data: bytes) -> m.Model:
    metadata = m.UploadModelMetadata(
        name=name,
        format=m.MODEL_FORMAT_ONNX,
        columns=COLUMNS,
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
    )
    parts = [m.UploadModelRequest(metadata=metadata)] + [
        m.UploadModelRequest(chunk=data[i : i + CHUNK]) for i in range(0, len(data), CHUNK)
    ]
    response: m.UploadModelResponse = await api.models.UploadModel(iter(parts))
    return response.model


async def _connections(api: Api, pg_database: Callable[[str], str]) -> tuple[str, str]:
    source, destination = pg_database("tsworkersrc"), pg_database("tsworkerdst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(SCHEMA_SQL + SOURCE_SQL)
    with psycopg.connect(destination, autocommit=True) as conn:
        conn.execute(SCHEMA_SQL)
    for name, url in (("src", source), ("dst", destination)):
        await api.connections.CreateConnection(c.CreateConnectionRequest(name=name, url=url))
    return source, destination


async def _finished(api: Api, run_id: str) -> j.JobRun:
    for _ in range(1200):
        run = (await api.jobs.GetJobRun(j.GetJobRunRequest(run_id=run_id))).run
        if run.status not in (j.RUN_STATUS_RUNNING, j.RUN_STATUS_UNSPECIFIED):
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


async def test_a_sync_run_samples_an_onnx_model_through_the_typescript_worker(
    sync_worker: Api,
    typescript_worker: Callable[[dict[str, str]], str],
    pg_database: Callable[[str], str],
) -> None:
    api = sync_worker
    _, destination = await _connections(api, pg_database)
    uploaded = await _upload_onnx(api, "payments-onnx", payments_model())
    assert uploaded.status == m.MODEL_STATUS_READY, uploaded.error
    dst = await api.connections.GetConnection(
        c.GetConnectionRequest(connection=c.ConnectionRef(name="dst"))
    )
    queue = typescript_worker({dst.connection.id: destination})

    job = j.Job(name="ts-onnx")
    job.source.connection = "src"
    job.destinations.add(connection="dst", truncate_before_insert=True)
    job.synthesize.add(table="payments", model="payments-onnx", row_count=ROWS, serving_queue=queue)
    created = (await api.jobs.CreateJob(j.CreateJobRequest(job=job))).job
    run = (await api.jobs.TriggerJobRun(j.TriggerJobRunRequest(job=j.JobRef(id=created.id)))).run
    finished = await _finished(api, run.id)

    assert finished.status == j.RUN_STATUS_SUCCEEDED, finished.error
    assert rows(destination, "SELECT count(*), count(DISTINCT id) FROM payments") == [(ROWS, ROWS)]
    orphans = """SELECT count(*) FROM payments p LEFT JOIN customers c ON c.id = p.customer_id
                 WHERE c.id IS NULL"""
    assert rows(destination, orphans) == [(0,)]
    assert rows(destination, "SELECT count(DISTINCT customer_id) > 10 FROM payments") == [(True,)]
    # The model's outputs, converted as the upload contract says: epoch seconds to timestamps.
    first = "SELECT amount, paid_at::text, refunded FROM payments WHERE id = 1"
    assert rows(destination, first) == [(1.0, "2023-11-14 23:13:20", False)]
    assert rows(destination, "SELECT count(*) FROM payments WHERE refunded") == [(ROWS // 2,)]

    events = (await api.jobs.GetJobRunEvents(j.GetJobRunEventsRequest(run_id=run.id))).events
    sampled = {e.kind for e in events if e.activity == "sample_model"}
    assert sampled >= {j.TABLE_EVENT_KIND_STARTED, j.TABLE_EVENT_KIND_COMPLETED}
    assert {e.table for e in events if e.activity == "sample_model"} == {"public.payments"}
    history = await api.temporal.get_workflow_handle(run.id).fetch_history()
    identities = {
        e.activity_task_started_event_attributes.identity
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    }
    assert any(i.startswith(IDENTITY_PREFIX) for i in identities), identities
