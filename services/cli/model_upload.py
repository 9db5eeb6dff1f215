"""`veilsync models upload`: a TorchScript or ONNX file streamed to the API in chunks."""

import hashlib
from collections.abc import Iterator
from pathlib import Path

import click

from services.cli.api_client import DEFAULT_TIMEOUT_S, open_api
from services.cli.context import CliContext, pass_cli
from services.cli.errors import EXIT_INVALID_ARGUMENT, CliError
from services.cli.output import out
from veilsync.v1 import model_pb2

# Well under gRPC's default 4 MiB message limit, large enough to keep the call count low.
CHUNK_BYTES = 1 << 20
_FORMATS = {"torchscript": model_pb2.MODEL_FORMAT_TORCHSCRIPT, "onnx": model_pb2.MODEL_FORMAT_ONNX}
_TYPES = ("integer", "float", "boolean", "string", "datetime")


def _sha256(path: Path) -> tuple[str, int]:
    """The file's digest and size, read once before sending: the API checks both."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _column(spec: str) -> model_pb2.ModelColumn:
    """NAME:TYPE, or NAME:string:A,B,C for a model that outputs codes 0, 1, 2 for A, B, C."""
    name, _, rest = spec.partition(":")
    kind, coded, categories = rest.partition(":")
    if not name or kind.lower() not in _TYPES or (coded and kind.lower() != "string"):
        raise CliError(
            f"--column {spec!r}: write NAME:TYPE with TYPE one of {', '.join(_TYPES)}, "
            "or NAME:string:CATEGORY,CATEGORY,... for integer codes",
            EXIT_INVALID_ARGUMENT,
        )
    column_type = model_pb2.ModelColumnType.Value(f"MODEL_COLUMN_TYPE_{kind.upper()}")
    return model_pb2.ModelColumn(
        name=name, type=column_type, categories=categories.split(",") if coded else []
    )


def _requests(
    path: Path, metadata: model_pb2.UploadModelMetadata
) -> Iterator[model_pb2.UploadModelRequest]:
    yield model_pb2.UploadModelRequest(metadata=metadata)
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            yield model_pb2.UploadModelRequest(chunk=chunk)


@click.command("upload")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Unique model name.")
@click.option("--format", "file_format", type=click.Choice(sorted(_FORMATS)), required=True)
@click.option(
    "--column",
    "columns",
    multiple=True,
    required=True,
    help="A column the model produces, as NAME:TYPE (integer, float, boolean, string, "
    "datetime), or NAME:string:A,B,C when the model outputs integer codes 0, 1, 2 standing "
    "for A, B, C; repeat for each, in output order.",
)
@pass_cli
def upload(
    cli: CliContext, path: Path, name: str, file_format: str, columns: tuple[str, ...]
) -> None:
    """Upload a model file; an ML worker loads it and draws 10 rows to check it keeps the
    contract before it is kept, else the upload is refused with the reason.

    \b
    The contract, the same for TorchScript and ONNX:
      inputs   rows, seed: two int64 scalars (ONNX: two inputs, in this order)
      outputs  one 1-D tensor of length rows per --column, in --column order
               (a tuple of tensors for TorchScript)
      dtypes   integer: int8..int64 or uint; float: float16..float64;
               boolean: bool; datetime: seconds since 1970 (int or float);
               string: an ONNX string tensor or a TorchScript List[str], or
               integer codes with NAME:string:A,B,C (code 0 is A; codes outside
               the list are refused)
    The same seed must give the same rows.

    \b
    TorchScript example (torch.jit.save(torch.jit.script(Gen()), "gen.pt")):
      class Gen(torch.nn.Module):
          def forward(self, rows: torch.Tensor, seed: torch.Tensor):
              g = torch.Generator().manual_seed(int(seed))
              ids = torch.arange(1, int(rows) + 1, dtype=torch.int64)
              return ids, torch.rand(int(rows), generator=g) * 100
      veilsync models upload gen.pt --name gen --format torchscript \\
          --column id:integer --column amount:float

    \b
    ONNX example: a graph with inputs rows and seed (INT64, shape []) and outputs
    id (INT64, [N]) and amount (FLOAT, [N]), e.g. Range(1, rows + 1) and its Cast * 1.5:
      veilsync models upload gen.onnx --name gen-onnx --format onnx \\
          --column id:integer --column amount:float
    """
    sha256, size = _sha256(path)
    metadata = model_pb2.UploadModelMetadata(
        name=name,
        format=_FORMATS[file_format],
        columns=[_column(c) for c in columns],
        sha256=sha256,
        size_bytes=size,
    )
    with open_api(cli.settings) as api:
        # Validation by a worker comes on top of the transfer: allow for both.
        m = api.models.UploadModel(_requests(path, metadata), timeout=max(DEFAULT_TIMEOUT_S, 600.0))
    out.print(m.model.id)
    click.echo(f"uploaded model {m.model.name} ({size} bytes, sha256 {sha256})", err=True)
