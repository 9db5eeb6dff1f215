"""PostgreSQL's binary COPY rows cut into Arrow columns and joined back by _pgbinary.c, held
to a plain-Python encoder of the documented format on generated rows; the text codecs of the
columns transformers read."""

import itertools
import struct

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.errors import DataRejectedError
from services.engine.connectors.base import WireColumns
from services.engine.connectors.postgres import binary_copy

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
Row = list[bytes | None]


def reference(rows: list[Row]) -> bytes:
    """The rows as the PostgreSQL manual's "Binary Format" section spells them, no header."""
    out = b""
    for row in rows:
        out += struct.pack(">h", len(row))
        for field in row:
            out += struct.pack(">i", -1) if field is None else struct.pack(">i", len(field)) + field
    return out


def compiled() -> object:
    module = binary_copy.compiled()
    assert module is not None, "_pgbinary.c did not build here"
    return module


def columns_of(rows: list[Row], width: int) -> list[list[bytes | None]]:
    return [[row[c] for row in rows] for c in range(width)]


def split_all(blocks: list[bytes], width: int) -> tuple[list[list[bytes | None]], bool]:
    """Every column's fields over the blocks, as Arrow arrays read them, and whether the
    trailer came."""
    module = compiled()
    out: list[list[bytes | None]] = [[] for _ in range(width)]
    ended = False
    for i, block in enumerate(blocks):
        rows, buffers, ended = module.split(block, width, i == 0)  # type: ignore[attr-defined]
        for c, (validity, offsets, data, nulls) in enumerate(buffers):
            array = pa.Array.from_buffers(
                pa.binary(),
                rows,
                [pa.py_buffer(validity), pa.py_buffer(offsets), pa.py_buffer(data)],
                null_count=nulls,
            )
            out[c] += array.to_pylist()
    return out, ended


fields = st.one_of(st.none(), st.binary(max_size=40))


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda width: st.tuples(
            st.just(width), st.lists(st.lists(fields, min_size=width, max_size=width), max_size=30)
        )
    ),
    st.data(),
)
def test_split_reads_what_the_reference_writes_in_any_blocks(
    shaped: tuple[int, list[Row]], data: st.DataObject
) -> None:
    width, rows = shaped
    # Blocks of whole rows, as the COPY reader hands them: the header in the first, the
    # trailer after the last row.
    cuts = sorted(data.draw(st.sets(st.integers(1, max(len(rows) - 1, 1)), max_size=4)))
    bounds = [0, *[c for c in cuts if c < len(rows)], len(rows)]
    blocks = [reference(rows[a:b]) for a, b in itertools.pairwise(bounds)]
    blocks[0] = HEADER + blocks[0]
    blocks[-1] += b"\xff\xff"
    columns, ended = split_all(blocks, width)
    assert ended
    assert columns == columns_of(rows, width)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda width: st.lists(st.lists(fields, min_size=width, max_size=width), max_size=30)
    ),
    st.integers(0, 5),
)
def test_join_writes_what_the_reference_writes(rows: list[Row], skip: int) -> None:
    if not rows:
        return
    width = len(rows[0])
    arrays = [pa.array(column, pa.binary()) for column in columns_of(rows, width)]
    # A sliced array starts inside its buffers: its offset travels with them.
    arrays = [a.slice(min(skip, len(rows))) for a in arrays]
    kept = rows[min(skip, len(rows)) :]
    parts = [(*a.buffers(), a.offset) for a in arrays]
    parts = [(v, o, d or b"", offset) for v, o, d, offset in parts]
    joined = compiled().join(parts, len(kept), True)  # type: ignore[attr-defined]
    assert joined == HEADER + reference(kept)


@pytest.mark.parametrize(
    ("block", "at_start", "message"),
    [
        (b"PGCOPY\n\xff\r\n\x01" + bytes(8), True, "signature"),
        (HEADER[:11] + struct.pack(">ii", 1 << 16, 0), True, "OIDs"),
        (HEADER[:11] + struct.pack(">ii", 0, 99), True, "extension"),
        (struct.pack(">h", 3) + struct.pack(">i", -1) * 3, False, "3 fields, expected 2"),
        (struct.pack(">hi", 2, 10) + b"abc", False, "longer than the data"),
        (struct.pack(">hi", 2, -1) + b"\x00", False, "cut short"),
        (b"\x00", False, "cut short"),
        (b"\xff\xff\x00\x02", False, "after the trailer"),
        (struct.pack(">hi", 2, -7) + struct.pack(">i", -1), False, "longer than the data"),
    ],
)
def test_malformed_rows_are_refused(block: bytes, at_start: bool, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compiled().split(block, 2, at_start)  # type: ignore[attr-defined]


def test_buffers_shorter_than_the_rows_are_refused() -> None:
    array = pa.array([b"ab", b"c"], pa.binary())
    validity, offsets, data = array.buffers()
    with pytest.raises(ValueError, match="shorter than the rows"):
        compiled().join([(validity, offsets, data, 0)], 5, False)  # type: ignore[attr-defined]
    bad = pa.py_buffer(struct.pack("<3i", 0, 9, 10))
    with pytest.raises(ValueError, match="outside the data"):
        compiled().join([(None, bad, data, 0)], 2, False)  # type: ignore[attr-defined]


def wire(types: list[str], decoded: set[str]) -> WireColumns:
    return WireColumns(tuple(types), frozenset(decoded))


def round_trip(values: list[object], type_name: str) -> list[object]:
    """Values as text, encoded as `type_name`, read back through a COPY's rows."""
    batch = pa.record_batch([pa.array(values, pa.string())], names=["v"])
    encoded = binary_copy.encode(batch, wire([type_name], {"v"}), header=True)
    (read,) = binary_copy.read_batches(
        [encoded + b"\xff\xff"], wire([type_name], {"v"}), ["v"], 1 << 20
    )
    return read.column("v").to_pylist()


@pytest.mark.parametrize(
    ("type_name", "values"),
    [
        ("smallint", ["-32768", "32767", None, "0"]),
        ("integer", ["-2147483648", "2147483647", None, "42"]),
        ("bigint", ["-9223372036854775808", "9223372036854775807", None, "7"]),
        ("text", ["", "ünïcødé ✓ 漢字 🐘", None, "a\nb"]),
        ("character varying(20)", ["x", None]),
        ("character(3)", ["ab ", None]),
    ],
)
def test_decoded_columns_come_back_as_they_went(type_name: str, values: list[object]) -> None:
    assert round_trip(values, type_name) == values


def test_uuids_in_every_form_postgres_reads_come_back_canonical() -> None:
    canonical = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    forms = [canonical, canonical.upper(), "{" + canonical + "}", canonical.replace("-", ""), None]
    assert round_trip(forms, "uuid") == [canonical] * 4 + [None]
    assert binary_copy.value_text("uuid", bytes.fromhex(canonical.replace("-", ""))) == canonical
    assert binary_copy.value_text("bigint", struct.pack(">q", -5)) == "-5"


@pytest.mark.parametrize(
    ("type_name", "value", "message"),
    [
        ("smallint", "40000", "column v"),
        ("integer", "twelve", "column v"),
        ("uuid", "not-a-uuid", "not a UUID"),
        ("uuid", "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "not a UUID"),
        ("numeric(4,2)", "1.5", "no binary form for type numeric"),
    ],
)
def test_text_a_type_cannot_take_names_the_column(type_name: str, value: str, message: str) -> None:
    batch = pa.record_batch([pa.array([value], pa.string())], names=["v"])
    with pytest.raises(DataRejectedError, match=message):
        binary_copy.encode(batch, wire([type_name], {"v"}), header=False)


def test_text_that_is_not_utf8_is_refused() -> None:
    block = HEADER + reference([[b"\xff\xfe"]]) + b"\xff\xff"
    with pytest.raises(pa.ArrowInvalid, match="UTF8"):
        list(binary_copy.read_batches([block], wire(["text"], {"v"}), ["v"], 1 << 20))


def test_which_types_decode() -> None:
    assert all(
        binary_copy.decodes(t)
        for t in ("text", "character varying(3)", "character(2)", "bigint", "uuid", "smallint")
    )
    assert not any(
        binary_copy.decodes(t) for t in ("numeric(4,2)", "boolean", "jsonb", "text[]", "date")
    )
