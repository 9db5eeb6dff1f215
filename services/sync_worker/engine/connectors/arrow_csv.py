"""PostgreSQL's CSV COPY format to and from Arrow batches, without a Python object per value.

Every column travels as text: PostgreSQL writes its own text form of each value and reads it
back, so untransformed columns are never decoded. NULL is an unquoted empty field and the
empty string a quoted one, which Arrow's CSV reader and writer keep apart."""

import io
from collections.abc import Iterable, Iterator, Sequence

import pyarrow as pa
import pyarrow.csv as pa_csv


class ChunkStream(io.RawIOBase):
    """A readable file over an iterator of byte chunks (such as a COPY TO STDOUT stream)."""

    def __init__(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "memoryview | bytearray") -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def read_csv_batches(
    chunks: Iterable[bytes | bytearray | memoryview], columns: Sequence[str], block_size: int
) -> Iterator[pa.RecordBatch]:
    """Batches of string columns parsed from headerless PostgreSQL CSV."""
    stream = io.BufferedReader(ChunkStream(chunks), buffer_size=1 << 20)
    if not stream.peek(1):
        return
    reader = pa_csv.open_csv(
        stream,
        read_options=pa_csv.ReadOptions(
            column_names=list(columns), block_size=block_size, use_threads=False
        ),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types={c: pa.string() for c in columns},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    yield from reader


def _bytea_text(values: pa.Array) -> pa.Array:
    """Binary values in PostgreSQL's bytea hex text form (\\x...), which COPY reads back."""
    return pa.array(
        [None if v is None else "\\x" + v.hex() for v in values.to_pylist()], pa.string()
    )


def to_csv(batch: pa.RecordBatch) -> bytes:
    """Headerless CSV with every non-NULL value quoted, as COPY ... (FORMAT csv) reads it."""
    binary = [
        i
        for i, f in enumerate(batch.schema)
        if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)
    ]
    if binary:
        columns = list(batch.columns)
        for i in binary:
            columns[i] = _bytea_text(columns[i])
        batch = pa.record_batch(columns, names=batch.schema.names)
    sink = io.BytesIO()
    pa_csv.write_csv(
        batch,
        sink,
        write_options=pa_csv.WriteOptions(include_header=False, quoting_style="all_valid"),
    )
    return sink.getvalue()
