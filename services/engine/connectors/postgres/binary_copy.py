"""Rows in PostgreSQL's binary COPY form, as Arrow batches whose untouched columns stay the
server's own bytes.

Between two PostgreSQL databases whose columns have the same built-in types, nothing needs
the text form of a value that no transformer reads: it is read and written as the field bytes
the source sent (a `pa.binary()` column), never parsed or printed, by either server or by
us. The columns a transformer or a checkpoint reads are decoded to text (`pa.string()`) and
encoded back: text types are their UTF-8 bytes, integers and UUIDs a few NumPy steps.
`_pgbinary.c` cuts the rows into columns and joins them back."""

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from services.common.errors import DataRejectedError
from services.engine import native
from services.engine.connectors.arrow_csv import blocks
from services.engine.connectors.base import WireColumns
from services.engine.transformers.prf import HEX_PAIRS

_SOURCE = Path(__file__).with_name("_pgbinary.c")
TRAILER = b"\xff\xff"
_BASE = re.compile(r"^([a-z ]+?)(\(.*\))?$")  # "character varying(120)" -> its base name
_TEXT = {"text", "character varying", "character", "name"}
_INTEGERS = {"smallint": 2, "integer": 4, "bigint": 8}
_ARROW_INTEGERS = {2: pa.int16(), 4: pa.int32(), 8: pa.int64()}


# Each column's type, and whether its binary form means the same in another database: a
# built-in base, range or multirange type (an array's elements built-in too; arrays name their
# element type's OID), not an enum, domain or composite of the database's own.
_TYPES = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod),
       a.atttypid < 16384 AND t.typtype IN ('b', 'r', 'm') AND t.typelem < 16384
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = to_regclass(format('%%I.%%I', %s::text, %s::text))
  AND a.attnum > 0 AND NOT a.attisdropped
"""


def column_types(
    conn: psycopg.Connection[Any], schema: str, table: str, columns: Sequence[str]
) -> list[str] | None:
    """Each column's type (format_type's name), or None when one is not portable or missing."""
    found = {
        name: (type_name, portable)
        for name, type_name, portable in conn.execute(_TYPES, (schema, table))
    }
    if not all(found.get(c, ("", False))[1] for c in columns):
        return None
    return [found[c][0] for c in columns]


def compiled() -> ModuleType | None:
    return native.optional(_SOURCE, "copying through CSV")


def decodes(type_name: str) -> bool:
    """Whether a column of this type (format_type's name) can be given to a transformer as
    text and written back."""
    return _codec(type_name) is not None


def value_text(type_name: str, raw: bytes) -> str:
    """One field's bytes as text: a checkpoint's key value."""
    codec = _codec(type_name)
    if codec is None:
        raise ValueError(f"no text form for type {type_name}")
    return str(codec[0](pa.array([raw], pa.binary()))[0].as_py())


def read_batches(
    chunks: Iterable[bytes], wire: WireColumns, columns: Sequence[str], block_size: int
) -> Iterator[pa.RecordBatch]:
    """Batches of a binary COPY TO's rows (`chunks` of whole rows), `wire.decoded` columns as
    text and the rest as their bytes."""
    module = _module()
    codecs = [
        _codec(t) if c in wire.decoded else None for c, t in zip(columns, wire.types, strict=True)
    ]
    at_start = True
    for block in blocks(chunks, block_size):
        rows, buffers, _ = module.split(block, len(columns), at_start)
        at_start = False
        if rows == 0:
            continue
        arrays = []
        for (validity, offsets, data, nulls), codec in zip(buffers, codecs, strict=True):
            raw = pa.Array.from_buffers(
                pa.binary(),
                rows,
                [
                    pa.py_buffer(validity) if nulls else None,
                    pa.py_buffer(offsets),
                    pa.py_buffer(data),
                ],
                null_count=nulls,
            )
            arrays.append(codec[0](raw) if codec else raw)
        yield pa.record_batch(arrays, names=list(columns))


def encode(batch: pa.RecordBatch, wire: WireColumns, header: bool) -> bytes:
    """The batch's rows in binary COPY form (after the header when `header`): bytes columns
    as they are, text columns encoded as their type (`wire.types`, in batch order) wants."""
    parts = []
    for name, array, type_name in zip(batch.schema.names, batch.columns, wire.types, strict=True):
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            codec = _codec(type_name)
            if codec is None:
                raise DataRejectedError(f"column {name}: no binary form for type {type_name}")
            array = codec[1](array, name)
        elif pa.types.is_null(array.type):
            array = pa.nulls(len(array), pa.binary())
        elif not pa.types.is_binary(array.type):
            array = array.cast(pa.binary())
        validity, offsets, data = array.buffers()
        parts.append((validity, offsets, data or b"", array.offset))
    joined: bytes = _module().join(parts, batch.num_rows, header)
    return joined


def _module() -> ModuleType:
    module = compiled()
    if module is None:  # wire columns are only chosen where it built
        raise RuntimeError("_pgbinary.c is not built")
    return module


Decode = Callable[[pa.Array], pa.Array]
Encode = Callable[[pa.Array, str], pa.Array]


def _codec(type_name: str) -> tuple[Decode, Encode] | None:
    match = _BASE.match(type_name)
    base = match.group(1) if match else type_name
    if base in _TEXT:
        return _text, _utf8
    if base in _INTEGERS:
        width = _INTEGERS[base]
        return (
            lambda raw: _integers(raw, width),
            lambda text, name: _integer_bytes(text, width, name),
        )
    if base == "uuid":
        return _uuids, _uuid_bytes
    return None


def _text(raw: pa.Array) -> pa.Array:
    return raw.cast(pa.string())  # checks the bytes are UTF-8


def _utf8(text: pa.Array, _: str) -> pa.Array:
    return text.cast(pa.binary())


def _valid(array: pa.Array) -> npt.NDArray[np.bool_]:
    return np.asarray(pc.is_valid(array).to_numpy(zero_copy_only=False), dtype=bool)


def _offsets(array: pa.Array) -> npt.NDArray[np.int32]:
    """Where each row of a binary or string array starts in its data, and the last one ends."""
    return np.frombuffer(array.buffers()[1], np.int32)[array.offset : array.offset + len(array) + 1]


def _built(kind: pa.DataType, valid: npt.NDArray[np.bool_], width: int, data: bytes) -> pa.Array:
    """An array of `kind` whose valid rows hold `width` bytes each of `data`, in order."""
    offsets = np.zeros(len(valid) + 1, dtype=np.int32)
    np.cumsum(valid * width, out=offsets[1:])
    bitmap = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(
        kind,
        len(valid),
        [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)],
        null_count=int(len(valid) - valid.sum()),
    )


def _fields(array: pa.Array) -> npt.NDArray[np.uint8]:
    """The bytes of a binary or string array's rows, one after another (NULLs hold none)."""
    offsets = _offsets(array)
    data = array.buffers()[2]
    if data is None or len(offsets) < 2:
        return np.zeros(0, np.uint8)
    return np.frombuffer(data, np.uint8)[offsets[0] : offsets[-1]]


def _fixed(raw: pa.Array, width: int) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.uint8]]:
    """Which rows are not NULL, and their fields' bytes, `width` each."""
    valid, lengths = _valid(raw), np.diff(_offsets(raw))
    if (lengths[valid] != width).any() or (lengths[~valid] != 0).any():
        raise DataRejectedError(f"binary COPY data: a field of {width} bytes expected")
    return valid, _fields(raw)


def _integers(raw: pa.Array, width: int) -> pa.Array:
    valid, data = _fixed(raw, width)
    values = np.zeros(len(raw), dtype=np.int64)
    values[valid] = data.view(f">i{width}")
    return pa.array(values, mask=~valid).cast(pa.string())


def _integer_bytes(text: pa.Array, width: int, name: str) -> pa.Array:
    try:
        values = pc.cast(text, pa.int64()).cast(_ARROW_INTEGERS[width])
    except pa.ArrowInvalid as err:
        raise DataRejectedError(f"column {name}: {err}") from err
    valid = _valid(values)
    # NULLs filled first: to_numpy would make the column float64 to hold them.
    numbers = pc.fill_null(values, 0).to_numpy()[valid]
    return _built(pa.binary(), valid, width, numbers.astype(f">i{width}").tobytes())


_DASHES = (8, 12, 16, 20)  # hex digits before each '-' of the canonical form


def _uuids(raw: pa.Array) -> pa.Array:
    valid, data = _fixed(raw, 16)
    digits = HEX_PAIRS[data.reshape(-1, 16)].view(np.uint8).reshape(-1, 32)
    text = np.insert(digits, _DASHES, ord("-"), axis=1)
    return _built(pa.string(), valid, 36, text.tobytes())


_NIBBLES = np.full(256, 255, dtype=np.uint8)
_NIBBLES[np.frombuffer(b"0123456789abcdef", np.uint8)] = np.arange(16)
_NIBBLES[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16)


def _uuid_bytes(text: pa.Array, name: str) -> pa.Array:
    """What PostgreSQL's uuid_in takes (dashes or none, braces, either case) as 16 bytes."""
    valid = _valid(text)
    digits = pc.replace_substring_regex(text.filter(pa.array(valid)), "[-{}]", "")
    if len(digits) and not pc.all(pc.equal(pc.utf8_length(digits), 32)).as_py():
        raise DataRejectedError(f"column {name}: a value is not a UUID")
    nibbles = _NIBBLES[_fields(digits)]
    if (nibbles == 255).any():
        raise DataRejectedError(f"column {name}: a value is not a UUID")
    pairs = nibbles.reshape(-1, 2)
    return _built(
        pa.binary(), valid, 16, ((pairs[:, 0] << 4) | pairs[:, 1]).astype(np.uint8).tobytes()
    )
