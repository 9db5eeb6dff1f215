"""PostgreSQL's CSV COPY format to and from Arrow batches, without a Python object per value.

Every column travels as text: PostgreSQL writes its own text form of each value and reads it
back, so untransformed columns are never decoded. NULL is an unquoted empty field and the
empty string a quoted one, which Arrow's CSV reader and writer keep apart."""

import io
from collections.abc import Iterable, Iterator, Sequence

import pyarrow as pa
import pyarrow.csv as pa_csv


def blocks(chunks: Iterable[bytes | bytearray | memoryview], size: int) -> Iterator[bytearray]:
    """The chunks joined into blocks of about `size` bytes. A COPY stream's chunks hold whole
    rows, so every block ends at a row boundary and parses on its own."""
    block = bytearray()
    for chunk in chunks:
        block += chunk  # in place, amortized: a row costs one C-level append
        if len(block) >= size:
            yield block
            block = bytearray()
    if block:
        yield block


def read_csv_batches(
    chunks: Iterable[bytes | bytearray | memoryview], columns: Sequence[str], block_size: int
) -> Iterator[pa.RecordBatch]:
    """Batches of string columns parsed from headerless PostgreSQL CSV, one block at a time.
    (Arrow's streaming reader over a Python file object costs ten times the parse itself.)"""
    read_options = pa_csv.ReadOptions(
        column_names=list(columns), block_size=block_size + (1 << 20), use_threads=False
    )
    parse_options = pa_csv.ParseOptions(newlines_in_values=True)
    convert_options = pa_csv.ConvertOptions(
        column_types={c: pa.string() for c in columns},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
    )
    for block in blocks(chunks, block_size):
        table = pa_csv.read_csv(
            pa.py_buffer(block),
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )
        yield from table.to_batches()


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
