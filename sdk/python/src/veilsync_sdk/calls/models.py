"""Calls of ModelService: training, uploads, sampling."""

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from veilsync.v1 import model_pb2
from veilsync_sdk.calls.base import (
    PAGE_SIZE,
    Call,
    ModelLike,
    Paged,
    model_id,
    page_of,
)

# Large enough to keep the number of messages low, well under gRPC's 4 MiB message limit.
UPLOAD_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class SampleResult:
    """What SampleModel did: rows written into a table, or the preview rows as dicts."""

    rows_written: int
    columns: list[str]
    rows: list[dict[str, Any]]


def train_model(
    name: str,
    *,
    kind: "model_pb2.ModelKind.ValueType",
    source_connection: str,
    table: str,
    options: model_pb2.TrainingOptions | None = None,
) -> Call[model_pb2.Model]:
    return Call(
        lambda s: s.models.TrainModel,
        model_pb2.TrainModelRequest(
            name=name,
            kind=kind,
            source_connection=source_connection,
            table=table,
            options=options,
        ),
        lambda r: r.model,
    )


def get_model(model: ModelLike) -> Call[model_pb2.Model]:
    return Call(
        lambda s: s.models.GetModel,
        model_pb2.GetModelRequest(id=model_id(model)),
        lambda r: r.model,
    )


def list_models() -> Paged[model_pb2.Model]:
    return page_of(
        lambda s: s.models.ListModels,
        lambda token: model_pb2.ListModelsRequest(page_size=PAGE_SIZE, page_token=token),
        lambda r: r.models,
    )


def delete_model(model: ModelLike) -> Call[None]:
    return Call(
        lambda s: s.models.DeleteModel,
        model_pb2.DeleteModelRequest(id=model_id(model)),
        lambda r: None,
    )


def model_quality(model: ModelLike) -> Call[model_pb2.ModelQuality]:
    return Call(
        lambda s: s.models.GetModelQuality,
        model_pb2.GetModelQualityRequest(id=model_id(model)),
        lambda r: r.quality,
    )


def _sample_result(response: model_pb2.SampleModelResponse) -> SampleResult:
    rows = [json_format.MessageToDict(row) for row in response.rows]
    return SampleResult(response.rows_written, list(response.columns), rows)


def sample_model(
    model: ModelLike,
    rows: int,
    *,
    seed: int = 0,
    into: tuple[str, str] | None = None,
) -> Call[SampleResult]:
    """Rows from a model: into (connection name, table) when given, else a preview."""
    request = model_pb2.SampleModelRequest(id=model_id(model), row_count=rows, seed=seed)
    if into is None:
        request.preview = True
    else:
        request.destination.CopyFrom(model_pb2.SampleDestination(connection=into[0], table=into[1]))
    return Call(lambda s: s.models.SampleModel, request, _sample_result, long=True)


def model_columns(columns: Mapping[str, str]) -> list[model_pb2.ModelColumn]:
    """{"age": "integer", "amount": "float"} as the columns of an upload, in that order."""
    return [
        model_pb2.ModelColumn(
            name=name, type=model_pb2.ModelColumnType.Value(f"MODEL_COLUMN_TYPE_{kind.upper()}")
        )
        for name, kind in columns.items()
    ]


def _chunks(model_file: Path | bytes) -> Iterator[bytes]:
    if isinstance(model_file, bytes):
        for start in range(0, len(model_file), UPLOAD_CHUNK_BYTES):
            yield model_file[start : start + UPLOAD_CHUNK_BYTES]
        return
    with model_file.open("rb") as handle:
        while chunk := handle.read(UPLOAD_CHUNK_BYTES):
            yield chunk


def _upload_parts(
    model_file: Path | bytes, metadata: model_pb2.UploadModelMetadata
) -> Iterator[model_pb2.UploadModelRequest]:
    yield model_pb2.UploadModelRequest(metadata=metadata)
    for chunk in _chunks(model_file):
        yield model_pb2.UploadModelRequest(chunk=chunk)


def upload_model(
    name: str,
    model_file: str | Path | bytes,
    *,
    format: "model_pb2.ModelFormat.ValueType",
    columns: Mapping[str, str] | Sequence[model_pb2.ModelColumn],
) -> Call[model_pb2.Model]:
    """A TorchScript or ONNX file, streamed after its digest and size (the API checks both)."""
    source = model_file if isinstance(model_file, bytes) else Path(model_file)
    digest, size = hashlib.sha256(), 0
    for chunk in _chunks(source):
        digest.update(chunk)
        size += len(chunk)
    metadata = model_pb2.UploadModelMetadata(
        name=name,
        format=format,
        columns=model_columns(columns) if isinstance(columns, Mapping) else list(columns),
        sha256=digest.hexdigest(),
        size_bytes=size,
    )
    return Call(
        lambda s: s.models.UploadModel,
        _upload_parts(source, metadata),
        lambda r: r.model,
        long=True,
    )
