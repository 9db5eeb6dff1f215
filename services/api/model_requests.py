"""Checks of ModelService requests at the edge, and their defaults. Pure functions."""

import re

from services.common.errors import InvalidArgumentError
from services.common.ml_contract import MAX_PREVIEW_ROWS, TRAINABLE_KINDS, training_defaults
from services.common.store.names import check_name
from veilsync.v1 import model_pb2

MAX_SAMPLE_ROWS = 100_000_000
_SHA256 = re.compile(r"[0-9a-f]{64}")
_UPLOAD_TYPES = {
    model_pb2.MODEL_COLUMN_TYPE_INTEGER,
    model_pb2.MODEL_COLUMN_TYPE_FLOAT,
    model_pb2.MODEL_COLUMN_TYPE_BOOLEAN,
    model_pb2.MODEL_COLUMN_TYPE_STRING,
    model_pb2.MODEL_COLUMN_TYPE_DATETIME,
}


def training_options(request: model_pb2.TrainModelRequest) -> model_pb2.TrainingOptions:
    """The request's options with defaults filled in; out-of-range values are refused."""
    check_name(request.name)
    if request.kind not in TRAINABLE_KINDS:
        raise InvalidArgumentError(
            "kind", "unknown model kind; use GAUSSIAN_COPULA, CTGAN, TVAE or VEILSYNC_VAE"
        )
    if not request.source_connection:
        raise InvalidArgumentError("source_connection", "is required")
    if not request.table:
        raise InvalidArgumentError("table", "is required")
    options = training_defaults(request.options)
    if request.kind == model_pb2.MODEL_KIND_CTGAN and options.batch_size % 10:
        raise InvalidArgumentError("options.batch_size", "CTGAN needs a multiple of 10")
    for i, item in enumerate(request.transformers):
        if not item.column:
            raise InvalidArgumentError(f"transformers[{i}].column", "is required")
        if item.transformer.WhichOneof("config") is None:
            raise InvalidArgumentError(f"transformers[{i}].transformer", "is required")
    return options


def check_sample(request: model_pb2.SampleModelRequest) -> None:
    if not request.id:
        raise InvalidArgumentError("id", "is required")
    target = request.WhichOneof("target")
    if target is None or (target == "preview" and not request.preview):
        raise InvalidArgumentError("target", "set a destination or preview")
    limit = MAX_PREVIEW_ROWS if target == "preview" else MAX_SAMPLE_ROWS
    _within("row_count", request.row_count, 1, limit)
    if target == "destination":
        if not request.destination.connection:
            raise InvalidArgumentError("destination.connection", "is required")
        if not request.destination.table:
            raise InvalidArgumentError("destination.table", "is required")


def check_upload_metadata(metadata: model_pb2.UploadModelMetadata, limit: int) -> None:
    check_name(metadata.name, "metadata.name")
    if metadata.format not in (model_pb2.MODEL_FORMAT_TORCHSCRIPT, model_pb2.MODEL_FORMAT_ONNX):
        raise InvalidArgumentError(
            "metadata.format",
            "only TORCHSCRIPT and ONNX are accepted; pickle and cloudpickle are refused",
        )
    if not metadata.columns:
        raise InvalidArgumentError("metadata.columns", "declare the columns the model produces")
    names = [c.name for c in metadata.columns]
    if len(set(names)) != len(names) or not all(names):
        raise InvalidArgumentError("metadata.columns", "names must be set and unique")
    for i, column in enumerate(metadata.columns):
        if column.type not in _UPLOAD_TYPES:
            raise InvalidArgumentError(
                f"metadata.columns[{i}].type", "use INTEGER, FLOAT, BOOLEAN, STRING or DATETIME"
            )
        _check_categories(column, f"metadata.columns[{i}].categories")
    if not _SHA256.fullmatch(metadata.sha256):
        raise InvalidArgumentError("metadata.sha256", "64 lower-case hex characters")
    _within("metadata.size_bytes", metadata.size_bytes, 1, limit)


def _check_categories(column: model_pb2.ModelColumn, field: str) -> None:
    if not column.categories:
        return
    if column.type != model_pb2.MODEL_COLUMN_TYPE_STRING:
        raise InvalidArgumentError(field, "only a STRING column has categories")
    if len(set(column.categories)) != len(column.categories):
        raise InvalidArgumentError(field, "must be unique")
    if "" in column.categories:
        raise InvalidArgumentError(field, "an empty category cannot be told from a missing one")


def split_table(table: str) -> tuple[str, str]:
    schema, _, name = table.rpartition(".")
    return schema, name


def _within(field: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise InvalidArgumentError(field, f"must be between {low} and {high}, got {value}")
