"""ModelService requests are checked at the edge, naming the field at fault."""

import pytest

from services.api.model_requests import check_sample, check_upload_metadata, training_options
from services.common.errors import InvalidArgumentError
from veilsync.v1 import model_pb2


def _train(**fields: object) -> model_pb2.TrainModelRequest:
    base: dict[str, object] = {
        "name": "orders-vae",
        "kind": model_pb2.MODEL_KIND_VEILSYNC_VAE,
        "source_connection": "prod",
        "table": "public.orders",
    }
    return model_pb2.TrainModelRequest(**{**base, **fields})  # type: ignore[arg-type]


def test_defaults_fill_in() -> None:
    options = training_options(_train())
    assert (options.epochs, options.batch_size, options.max_rows) == (100, 500, 1_000_000)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": model_pb2.MODEL_KIND_UNSPECIFIED}, "kind"),
        ({"kind": model_pb2.MODEL_KIND_UPLOADED}, "kind"),
        ({"kind": 99}, "kind"),
        ({"options": model_pb2.TrainingOptions(epochs=20_000)}, "options.epochs"),
        ({"options": model_pb2.TrainingOptions(batch_size=5)}, "options.batch_size"),
        (
            {
                "kind": model_pb2.MODEL_KIND_CTGAN,
                "options": model_pb2.TrainingOptions(batch_size=55),
            },
            "options.batch_size",
        ),
        ({"table": ""}, "table"),
    ],
)
def test_bad_training_requests_name_the_field(fields: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgumentError) as error:
        training_options(_train(**fields))
    assert error.value.field == field


def test_preview_is_capped_at_1000_rows() -> None:
    with pytest.raises(InvalidArgumentError, match="row_count"):
        check_sample(model_pb2.SampleModelRequest(id="m", preview=True, row_count=1001))
    check_sample(model_pb2.SampleModelRequest(id="m", preview=True, row_count=1000))


def _metadata(**fields: object) -> model_pb2.UploadModelMetadata:
    base: dict[str, object] = {
        "name": "byo",
        "format": model_pb2.MODEL_FORMAT_ONNX,
        "columns": [model_pb2.ModelColumn(name="x", type=model_pb2.MODEL_COLUMN_TYPE_FLOAT)],
        "sha256": "0" * 64,
        "size_bytes": 100,
    }
    return model_pb2.UploadModelMetadata(**{**base, **fields})  # type: ignore[arg-type]


def _coded(*categories: str) -> model_pb2.ModelColumn:
    return model_pb2.ModelColumn(
        name="status", type=model_pb2.MODEL_COLUMN_TYPE_STRING, categories=categories
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"format": model_pb2.MODEL_FORMAT_UNSPECIFIED}, "metadata.format"),
        ({"size_bytes": 10_000}, "metadata.size_bytes"),
        ({"sha256": "abc"}, "metadata.sha256"),
        ({"columns": []}, "metadata.columns"),
        ({"columns": [_coded("a", "a")]}, "metadata.columns[0].categories"),
        ({"columns": [_coded("a", "")]}, "metadata.columns[0].categories"),
    ],
)
def test_bad_upload_metadata_names_the_field(fields: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgumentError) as error:
        check_upload_metadata(_metadata(**fields), limit=1000)
    assert error.value.field == field
