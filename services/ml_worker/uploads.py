"""Bring-your-own models: TorchScript through torch.jit.load and ONNX through onnxruntime,
neither of which runs Python code when loading. The contract (README.md, "Bring your own model"):
inputs a row count and a seed (int64 scalars); outputs one tensor of shape [row_count] per
declared column, in order. Datetimes are seconds since the Unix epoch; strings are ONNX
string tensors, a TorchScript List[str], or integer codes into the column's categories."""

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from services.common.errors import InvalidArgumentError
from services.common.ml_contract import SMOKE_ROWS
from veilsync.v1 import model_pb2

_KINDS = {
    model_pb2.MODEL_COLUMN_TYPE_INTEGER: "iu",
    model_pb2.MODEL_COLUMN_TYPE_FLOAT: "f",
    model_pb2.MODEL_COLUMN_TYPE_BOOLEAN: "b",
    model_pb2.MODEL_COLUMN_TYPE_STRING: "OUS",
    model_pb2.MODEL_COLUMN_TYPE_DATETIME: "iuf",
}
_PREFIX = "MODEL_COLUMN_TYPE_"


class UploadedModel:
    def __init__(
        self,
        path: Path,
        model_format: "model_pb2.ModelFormat.ValueType",
        columns: list[model_pb2.ModelColumn],
    ) -> None:
        self._columns = list(columns)
        self._format = model_format
        if model_format == model_pb2.MODEL_FORMAT_TORCHSCRIPT:
            import torch

            self._module = torch.jit.load(  # type: ignore[no-untyped-call]
                str(path), map_location="cpu"
            )
        elif model_format == model_pb2.MODEL_FORMAT_ONNX:
            import onnxruntime

            self._session = onnxruntime.InferenceSession(
                str(path), providers=["CPUExecutionProvider"]
            )
        else:
            raise InvalidArgumentError("metadata.format", "set TORCHSCRIPT or ONNX")

    def _outputs(self, rows: int, seed: int) -> list[npt.NDArray[np.generic]]:
        if self._format == model_pb2.MODEL_FORMAT_TORCHSCRIPT:
            import torch

            with torch.no_grad():
                result = self._module(torch.tensor(rows), torch.tensor(seed))
            return [_array(o) for o in _torch_outputs(result)]
        names = [i.name for i in self._session.get_inputs()]
        feeds = dict(zip(names, [np.array(rows, np.int64), np.array(seed, np.int64)], strict=False))
        return [np.asarray(o) for o in self._session.run(None, feeds)]

    def sample(self, rows: int, seed: int) -> pd.DataFrame:
        outputs = self._outputs(rows, seed)
        if len(outputs) != len(self._columns):
            raise InvalidArgumentError(
                "metadata.columns",
                f"the model returned {len(outputs)} outputs for {len(self._columns)} columns",
            )
        frame: dict[str, object] = {}
        for column, values in zip(self._columns, outputs, strict=True):
            values = values.reshape(-1) if values.ndim > 1 and values.size == rows else values
            if values.shape != (rows,):
                raise InvalidArgumentError(
                    "metadata.columns",
                    f"output for column {column.name!r} has shape {list(values.shape)}, "
                    f"expected [{rows}]",
                )
            kinds = "iu" if column.categories else _KINDS.get(column.type, "")
            if values.dtype.kind not in kinds:
                raise InvalidArgumentError(
                    "metadata.columns",
                    f"output for column {column.name!r} is {values.dtype}, not {_expected(column)}",
                )
            if column.categories:
                frame[column.name] = _categories(column, values.astype(np.int64))
            elif column.type == model_pb2.MODEL_COLUMN_TYPE_DATETIME:
                frame[column.name] = pd.to_datetime(values.astype("int64"), unit="s")
            elif values.dtype.kind == "S":
                frame[column.name] = [bytes(v).decode() for v in values]
            else:
                frame[column.name] = values
        return pd.DataFrame(frame)

    def state(self) -> dict[str, object]:
        return {}


def _expected(column: model_pb2.ModelColumn) -> str:
    if column.categories:
        return "integer codes of its categories"
    return model_pb2.ModelColumnType.Name(column.type).removeprefix(_PREFIX)


def _categories(
    column: model_pb2.ModelColumn, codes: npt.NDArray[np.int64]
) -> npt.NDArray[np.object_]:
    """Codes as the strings they stand for, the whole column at once; a code with no category
    is the model breaking its contract."""
    categories = np.asarray(column.categories, dtype=object)
    outside = (codes < 0) | (codes >= len(categories))
    if outside.any():
        raise InvalidArgumentError(
            "metadata.columns",
            f"output for column {column.name!r} has code {codes[outside][0]}, outside its "
            f"{len(categories)} categories (codes 0 to {len(categories) - 1})",
        )
    return categories.take(codes)


def _torch_outputs(result: object) -> list[object]:
    """A tuple or list of tensors is one output per column; a List[str] is one string column."""
    import torch

    if isinstance(result, tuple) or (
        isinstance(result, list) and all(isinstance(o, torch.Tensor) for o in result)
    ):
        return list(result)
    return [result]


def _array(output: object) -> npt.NDArray[np.generic]:
    import torch

    return output.cpu().numpy() if isinstance(output, torch.Tensor) else np.asarray(output)


def validate_upload(
    path: Path,
    model_format: "model_pb2.ModelFormat.ValueType",
    columns: list[model_pb2.ModelColumn],
) -> int:
    """Load the file and draw a seeded smoke sample; raises InvalidArgumentError naming the
    problem. Returns the rows drawn."""
    try:
        model = UploadedModel(path, model_format, columns)
        sample = model.sample(SMOKE_ROWS, seed=0)
    except InvalidArgumentError:
        raise
    except Exception as err:  # whatever a foreign model raises, it is the upload's fault
        raise InvalidArgumentError(
            "chunk", f"the model did not load or sample: {type(err).__name__}: {err}"
        ) from err
    return len(sample)
