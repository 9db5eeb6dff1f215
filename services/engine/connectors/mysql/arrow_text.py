"""Arrow batches to and from MySQL's text forms, a whole column at a time.

Reads arrive as the server's text of each value and are cast to typed Arrow arrays in bulk.
Writes are rendered to LOAD DATA's tab-separated format (backslash escapes, \\N for NULL) or
to the VALUES list of a multi-row INSERT; both are built with Arrow kernels and cut out of one
contiguous buffer, so no Python object is made per value on the write path."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from services.engine.connectors.mysql.types import arrow_type, base_type, is_boolean

_TRUE = pa.array(["t", "true", "1", "y", "yes", "on"])
_FALSE = pa.array(["f", "false", "0", "n", "no", "off"])

# What each encoding must escape inside a value, in order (backslash first).
_LOAD_ESCAPES = (
    (b"\\", b"\\\\"),
    (b"\t", b"\\t"),
    (b"\n", b"\\n"),
    (b"\r", b"\\r"),
    (b"\x00", b"\\0"),
)
_SQL_ESCAPES = ((b"\\", b"\\\\"), (b"'", b"\\'"), (b"\x00", b"\\0"))


def to_arrow(values: Sequence[object], column_type: str) -> pa.Array:
    """A column read as text (bytes for binary columns) as its typed Arrow array; a value
    Arrow cannot parse (MySQL's zero dates) leaves the column as text."""
    target = arrow_type(column_type)
    if pa.types.is_binary(target):
        return pa.array(values, pa.binary())
    text = pa.array(values, pa.string())
    if pa.types.is_string(target):
        return text
    try:
        if pa.types.is_timestamp(target) and target.tz:
            return text.cast(pa.timestamp(target.unit)).cast(target)
        return text.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return text


@dataclass(frozen=True)
class Target:
    """What the writer needs to know of a destination column."""

    name: str
    column_type: str

    @property
    def kind(self) -> str:
        if is_boolean(self.column_type):
            return "boolean"
        name = base_type(self.column_type)[0]
        if name in ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"):
            return "binary"
        if name in ("datetime", "timestamp"):
            return "datetime"
        return "text"


def _as_text(array: pa.Array, target: Target) -> tuple[pa.Array, bool]:
    """The column as binary text MySQL parses for `target`, and whether it is hex to UNHEX.
    Other engines' text forms are normalised here: PostgreSQL's 't'/'f' booleans, timestamps
    with offsets and `\\x` hex bytea."""
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_boolean(array.type):
        array = array.cast(pa.int8())
    elif pa.types.is_timestamp(array.type) and array.type.tz:
        array = array.cast(pa.timestamp(array.type.unit))  # the UTC wall time
    if pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type):
        array = array.cast(pa.string() if pa.types.is_large_string(array.type) else pa.binary())
    if pa.types.is_binary(array.type) or pa.types.is_fixed_size_binary(array.type):
        return array.cast(pa.binary()), False
    if not pa.types.is_string(array.type):
        return array.cast(pa.string()).cast(pa.binary()), False
    hexed = False
    if target.kind == "boolean":
        lower = pc.utf8_lower(array)
        array = pc.if_else(
            pc.is_in(lower, _TRUE), "1", pc.if_else(pc.is_in(lower, _FALSE), "0", array)
        )
    elif target.kind == "datetime" and array.null_count < len(array):
        try:
            instants = array.cast(pa.timestamp("us", "UTC"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass  # no offsets: already wall time MySQL reads as it is
        else:
            array = instants.cast(pa.timestamp("us")).cast(pa.string())
    elif target.kind == "binary" and array.null_count < len(array):
        hexed = bool(pc.all(pc.starts_with(array, "\\x")).as_py())
        if hexed:
            array = pc.utf8_slice_codeunits(array, 2)
    return array.cast(pa.binary()), hexed


def _escape(array: pa.Array, escapes: tuple[tuple[bytes, bytes], ...]) -> pa.Array:
    for old, new in escapes:
        array = pc.replace_substring(array, old, new)
    return array


def _contiguous(rows: pa.Array) -> bytes:
    """The concatenation of every value of a binary array, cut from its data buffer."""
    if len(rows) == 0:
        return b""
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32)[rows.offset :]
    start, end = int(offsets[0]), int(offsets[len(rows)])
    data = rows.buffers()[2]
    return b"" if data is None else data.slice(start, end - start).to_pybytes()


def load_data_rows(batch: pa.RecordBatch, targets: Sequence[Target]) -> tuple[bytes, list[bool]]:
    """The batch in LOAD DATA's default format, and which columns travel as hex."""
    fields, hexes = [], []
    for array, target in zip(batch.columns, targets, strict=True):
        text, hexed = _as_text(array, target)
        fields.append(pc.fill_null(_escape(text, _LOAD_ESCAPES), b"\\N"))
        hexes.append(hexed)
    if batch.num_rows == 0:
        return b"", hexes
    empty = pa.array([b""] * batch.num_rows, pa.binary())
    rows = pc.binary_join_element_wise(pc.binary_join_element_wise(*fields, b"\t"), empty, b"\n")
    return _contiguous(rows), hexes


def values_rows(batch: pa.RecordBatch, targets: Sequence[Target]) -> pa.Array:
    """Each row as the text of one `(v1, v2, ...),` tuple of a multi-row INSERT."""
    fields = []
    for array, target in zip(batch.columns, targets, strict=True):
        text, hexed = _as_text(array, target)
        quoted = pc.binary_join_element_wise(
            b"UNHEX('" if hexed else b"_binary'",
            _escape(text, _SQL_ESCAPES),
            b"')" if hexed else b"'",
            b"",
        )
        fields.append(pc.fill_null(quoted, b"NULL"))
    return pc.binary_join_element_wise(b"(", pc.binary_join_element_wise(*fields, b","), b"),", b"")


def values_chunks(rows: pa.Array, limit: int) -> list[bytes]:
    """The INSERT tuples cut into VALUES lists (trailing comma dropped) of at most about
    `limit` bytes each, so every statement fits the server's max_allowed_packet."""
    ends = np.cumsum(pc.binary_length(rows).to_numpy(zero_copy_only=False))
    chunks, start = [], 0
    while start < len(rows):
        taken = int(ends[start - 1]) if start else 0
        stop = max(int(np.searchsorted(ends, taken + limit, side="right")), start + 1)
        chunks.append(_contiguous(rows.slice(start, stop - start))[:-1])
        start = stop
    return chunks
