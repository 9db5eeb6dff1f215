"""ModelService over a real gRPC channel: the API starts training and sampling on its ml task
queue, served here by an in-process ML worker sharing the API's store, model files and
payload codec."""

import asyncio
import hashlib
import io
from collections.abc import AsyncIterator, Callable, Sequence

import grpc
import psycopg
import pytest

torch = pytest.importorskip("torch")

from concurrent.futures import ThreadPoolExecutor  # noqa: E402

from services.common.model_files import models_dir, open_model_files  # noqa: E402
from services.common.store.models_store import ModelStore  # noqa: E402
from services.ml_worker.worker import MAX_CONCURRENT_ACTIVITIES, build_ml_worker  # noqa: E402
from tests.integration.conftest import Api  # noqa: E402
from tests.integration.test_ml_workflows import (  # noqa: E402
    COLUMNS,
    DEST_SQL,
    ORDERS_QUALITY_FLOOR,
    TABLE_SQL,
    Generator,
)
from veilsync.v1 import connection_pb2 as c  # noqa: E402
from veilsync.v1 import model_pb2 as m  # noqa: E402

pytestmark = [pytest.mark.ml, pytest.mark.integration]
EPOCHS = 150
CHUNK = 4096


@pytest.fixture
async def ml_api(api: Api) -> AsyncIterator[Api]:
    models = ModelStore(api.settings.metadata_url())
    with ThreadPoolExecutor(MAX_CONCURRENT_ACTIVITIES) as executor:
        worker = build_ml_worker(
            api.temporal,
            api.store,
            models,
            open_model_files(api.settings),
            torch.device("cpu"),
            b"api-test-secret",
            executor,
            task_queue=api.settings.ml_task_queue,
        )
        async with worker:
            yield api
    models.close()


async def _connections(api: Api, pg_database: Callable[[str], str]) -> None:
    source, destination = pg_database("mlapisrc"), pg_database("mlapidst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(TABLE_SQL)
    with psycopg.connect(destination, autocommit=True) as conn:
        conn.execute(DEST_SQL)
    for name, url in (("src", source), ("dst", destination)):
        await api.connections.CreateConnection(c.CreateConnectionRequest(name=name, url=url))


def _torchscript(module: torch.nn.Module | None = None) -> bytes:
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(module or Generator()), buffer)
    return buffer.getvalue()


class RowsOnly(torch.nn.Module):  # type: ignore[misc]
    """Breaks the contract: no seed input."""

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return torch.arange(int(rows))


class Statuses(torch.nn.Module):  # type: ignore[misc]
    """An integer column and a string one (a TorchScript List[str])."""

    def forward(self, rows: torch.Tensor, seed: torch.Tensor) -> tuple[torch.Tensor, list[str]]:
        words = ["new", "paid", "shipped"]
        return torch.arange(1, int(rows) + 1), [words[i % 3] for i in range(int(rows))]


class Coded(torch.nn.Module):  # type: ignore[misc]
    """A string column as int64 codes, 0 to 2: its strings are declared as categories."""

    def forward(self, rows: torch.Tensor, seed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ids = torch.arange(1, int(rows) + 1)
        return ids, ids % 3


async def _upload(
    api: Api,
    name: str,
    data: bytes,
    sha256: str | None = None,
    columns: Sequence[m.ModelColumn] = tuple(COLUMNS),
) -> m.UploadModelResponse:
    metadata = m.UploadModelMetadata(
        name=name,
        format=m.MODEL_FORMAT_TORCHSCRIPT,
        columns=columns,
        sha256=sha256 or hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
    )

    async def parts() -> AsyncIterator[m.UploadModelRequest]:
        yield m.UploadModelRequest(metadata=metadata)
        for start in range(0, len(data), CHUNK):
            yield m.UploadModelRequest(chunk=data[start : start + CHUNK])

    response: m.UploadModelResponse = await api.models.UploadModel(parts())
    return response


async def _refused(call: object, *words: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    for word in words:
        assert word in (caught.value.details() or ""), caught.value.details()


def _column(
    name: str, kind: "m.ModelColumnType.ValueType", categories: Sequence[str] = ()
) -> m.ModelColumn:
    return m.ModelColumn(name=name, type=kind, categories=categories)


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
async def test_a_broken_model_is_refused_with_the_workers_reason(
    ml_api: Api, pg_database: Callable[[str], str]
) -> None:
    api = ml_api
    await _connections(api, pg_database)
    await _refused(
        _upload(api, "rows-only", _torchscript(RowsOnly())),
        "chunk: the model did not load or sample: RuntimeError: forward() expected at most 2 "
        "argument(s) but received 3 argument(s)",
    )
    wrong = [_column("age", m.MODEL_COLUMN_TYPE_FLOAT), _column("id", m.MODEL_COLUMN_TYPE_FLOAT)]
    await _refused(
        _upload(api, "ints-as-floats", _torchscript(), columns=wrong),
        "metadata.columns: output for column 'age' is int64, not FLOAT",
    )
    assert (await api.models.ListModels(m.ListModelsRequest())).models == []

    # Sampled by name; integers stay whole and strings come back as strings.
    columns = [
        _column("id", m.MODEL_COLUMN_TYPE_INTEGER),
        _column("status", m.MODEL_COLUMN_TYPE_STRING),
    ]
    await _upload(api, "statuses", _torchscript(Statuses()), columns=columns)
    preview = await api.models.SampleModel(
        m.SampleModelRequest(id="statuses", row_count=4, preview=True)
    )
    assert [dict(r) for r in preview.rows] == [
        {"id": 1, "status": "new"},
        {"id": 2, "status": "paid"},
        {"id": 3, "status": "shipped"},
        {"id": 4, "status": "new"},
    ]

    # Integer codes come back as the categories they stand for; a code with none is refused.
    def coded(*categories: str) -> list[m.ModelColumn]:
        return [columns[0], _column("status", m.MODEL_COLUMN_TYPE_STRING, categories)]

    await _upload(api, "coded", _torchscript(Coded()), columns=coded("paid", "new", "shipped"))
    preview = await api.models.SampleModel(
        m.SampleModelRequest(id="coded", row_count=4, preview=True)
    )
    assert [r["status"] for r in preview.rows] == ["new", "shipped", "paid", "new"]
    await _refused(
        _upload(api, "coded-short", _torchscript(Coded()), columns=coded("paid", "new")),
        "metadata.columns: output for column 'status' has code 2, outside its 2 categories "
        "(codes 0 to 1)",
    )
    await _refused(
        _upload(
            api,
            "coded-int",
            _torchscript(Coded()),
            columns=[_column("id", m.MODEL_COLUMN_TYPE_INTEGER, ["a"])],
        ),
        "metadata.columns[0].categories: only a STRING column has categories",
    )
    await _refused(
        _upload(api, "coded-strings", _torchscript(Statuses()), columns=coded("a", "b", "c")),
        "metadata.columns: output for column 'status' is ",
        ", not integer codes of its categories",
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.models.SampleModel(
            m.SampleModelRequest(
                id="statuses",
                row_count=4,
                destination=m.SampleDestination(connection="dst", table="public.nowhere"),
            )
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == 'table: table "public.nowhere" not found'


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
async def test_model_service_end_to_end(ml_api: Api, pg_database: Callable[[str], str]) -> None:
    api = ml_api
    await _connections(api, pg_database)
    trained = await api.models.TrainModel(
        m.TrainModelRequest(
            name="orders-vae",
            kind=m.MODEL_KIND_VEILSYNC_VAE,
            source_connection="src",
            table="public.orders",
            options=m.TrainingOptions(epochs=EPOCHS, batch_size=50, seed=2),
        )
    )
    model_id = trained.model.id
    assert trained.model.status == m.MODEL_STATUS_TRAINING

    seen: list[m.TrainingProgress] = []
    for _ in range(1200):
        model = (await api.models.GetModel(m.GetModelRequest(id=model_id))).model
        if model.status != m.MODEL_STATUS_TRAINING:
            break
        seen.append(model.progress)
        await asyncio.sleep(0.02)
    assert model.status == m.MODEL_STATUS_READY, model.error
    assert model.progress.epoch == model.progress.epochs == EPOCHS
    assert model.progress.loss > 0 and model.training_rows == 120
    mid = [p for p in seen if 0 < p.epoch < EPOCHS]
    assert mid, "no progress was seen while training"
    assert all(p.epochs == EPOCHS and p.loss > 0 and p.HasField("eta") for p in mid)

    listed = await api.models.ListModels(m.ListModelsRequest())
    assert [x.name for x in listed.models] == ["orders-vae"]
    quality = (await api.models.GetModelQuality(m.GetModelQualityRequest(id=model_id))).quality
    assert quality.overall_score == model.quality_score >= ORDERS_QUALITY_FLOOR
    # Measured on the 30 rows held out of the 150, with the privacy score beside it.
    assert model.evaluation.holdout_rows == 30 and model.evaluation.dcr_rows > 0
    assert model.evaluation.quality_score == model.quality_score
    assert {s.column for s in quality.column_shapes} >= {"status", "amount", "paid"}

    preview = await api.models.SampleModel(
        m.SampleModelRequest(id=model_id, row_count=5, seed=1, preview=True)
    )
    assert len(preview.rows) == 5 and "status" in preview.columns
    written = await api.models.SampleModel(
        m.SampleModelRequest(
            id=model_id,
            row_count=40,
            seed=1,
            destination=m.SampleDestination(connection="dst", table="public.orders"),
        )
    )
    assert written.rows_written == 40

    # Uploads: a TorchScript file samples; a wrong checksum and a pickle store nothing.
    script = _torchscript()
    uploaded = (await _upload(api, "byo", script)).model
    assert uploaded.status == m.MODEL_STATUS_READY and uploaded.kind == m.MODEL_KIND_UPLOADED
    rows = await api.models.SampleModel(
        m.SampleModelRequest(id=uploaded.id, row_count=3, preview=True)
    )
    assert [dict(r) for r in rows.rows] == [{"id": i, "amount": i * 1.5} for i in (1, 2, 3)]
    await _refused(_upload(api, "bad-sum", script, sha256="0" * 64), "metadata.sha256")
    import pickle

    await _refused(_upload(api, "pickled", pickle.dumps({"weights": [1, 2]})), "pickle")
    names = [x.name for x in (await api.models.ListModels(m.ListModelsRequest())).models]
    assert names == ["byo", "orders-vae"]
    staging = models_dir(api.settings) / "staging"
    assert not staging.exists() or not any(staging.iterdir())

    await api.models.DeleteModel(m.DeleteModelRequest(id=model_id))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.models.GetModel(m.GetModelRequest(id=model_id))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert not (models_dir(api.settings) / "default" / model_id).exists()
