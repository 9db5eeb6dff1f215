"""Which uploaded files are acceptable, decided from their bytes without loading them.

Pickle runs code when loaded, so pickle and cloudpickle files, and torch.save archives that
are pickles inside a zip, are refused; TorchScript archives and ONNX protobufs are not."""

import zipfile
from pathlib import Path

from services.common.errors import InvalidArgumentError
from veilsync.v1 import model_pb2

_PICKLE_REFUSED = (
    "pickle and cloudpickle files are refused because they run code when loaded; "
    "save the model with torch.jit.save (TorchScript) or export it to ONNX"
)


def check_format(path: Path, declared: "model_pb2.ModelFormat.ValueType") -> None:
    with path.open("rb") as source:
        head = source.read(4)
    if head[:1] == b"\x80" or head[:1] in (b"(", b"]", b"}"):
        raise InvalidArgumentError("metadata.format", _PICKLE_REFUSED)
    is_zip = head == b"PK\x03\x04"
    if declared == model_pb2.MODEL_FORMAT_TORCHSCRIPT:
        if not is_zip:
            raise InvalidArgumentError("metadata.format", "not a TorchScript archive (zip)")
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
        if not any("/code/" in n for n in names) or not any(
            n.endswith("constants.pkl") for n in names
        ):
            raise InvalidArgumentError(
                "metadata.format",
                "a torch.save archive, not TorchScript: " + _PICKLE_REFUSED,
            )
    elif declared == model_pb2.MODEL_FORMAT_ONNX:
        if is_zip:
            raise InvalidArgumentError("metadata.format", "a zip archive, not an ONNX model")
    else:
        raise InvalidArgumentError("metadata.format", "set MODEL_FORMAT_TORCHSCRIPT or ONNX")
