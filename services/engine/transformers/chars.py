"""Byte-level views of Arrow string arrays, for per-character rewrites done with NumPy."""

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from services.engine.transformers.prf import GOLDEN, U64, below, derive, strings

_GOLDEN = np.uint64(GOLDEN)


def to_bytes(values: pa.Array) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """The UTF-8 bytes of every row, concatenated, and the row offsets into them."""
    large = values.cast(pa.large_string())
    _, offsets_buffer, data_buffer = large.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[
        large.offset : large.offset + len(large) + 1
    ]
    data = (
        np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
        if data_buffer is not None
        else np.zeros(0, dtype=np.uint8)
    )
    return data, offsets - offsets[0]


# Character classes a scramble replaces, as (first byte, size): digits, then ASCII letters.
_CLASSES = ((ord("0"), 10), (ord("a"), 26), (ord("A"), 26))
# Draws of a row after the first, while it comes out as its own input, before the last resort;
# a row with k replaceable characters still equals its input after them with odds 10^-4k at most.
_REDRAWS = 3
# derive() streams of the redraws' row hashes, past those any transformer uses.
_REDRAW_STREAM = 64


def scramble(
    values: pa.Array,
    h: U64,
    selected: npt.NDArray[np.bool_] | None = None,
    letters: bool = True,
) -> pa.Array:
    """Each ASCII digit (and letter, when `letters`) replaced by a keyed one of the same class
    and case, at positions `selected` (all when None); other bytes, UTF-8 included, kept.

    No value comes back as itself unless it has no character to replace (those stay as they
    are): a row whose draw equals its input is drawn again from a hash derived from its own, so
    that it is uniform over the other values of its shape, and one still unchanged after
    _REDRAWS redraws (odds of 10^-4 at most) gets its first replaceable character moved to
    another of its class. Only rows that would have come back unchanged get another output than
    the first draw's."""
    data, offsets = to_bytes(values)
    lengths = np.diff(offsets)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    position = (np.arange(len(data), dtype=np.int64) - offsets[rows]).astype(np.uint64)
    keep = np.ones(len(data), dtype=np.bool_) if selected is None else selected
    classes = _CLASSES if letters else _CLASSES[:1]
    out, replaced = _draw(data, h[rows] ^ (position * _GOLDEN), keep, classes)
    # Per row, the most of: 0 nothing replaced, 1 replaced but unchanged, 2 changed. One
    # reduction over the bytes and a trailing 0, so that every offset is an index; an empty row
    # reads the next row's first byte instead, hence the length test.
    state = np.zeros(len(data) + 1, dtype=np.int8)
    np.add(replaced, (out != data) * np.int8(2), out=state[:-1], dtype=np.int8)
    todo = np.flatnonzero((np.maximum.reduceat(state, offsets[:-1]) == 1) & (lengths > 0))
    for attempt in range(1, _REDRAWS + 1):
        if not len(todo):
            return strings(out, lengths)
        at = _bytes_of(todo, offsets)
        seeds = derive(h[rows[at]], _REDRAW_STREAM + attempt) ^ (position[at] * _GOLDEN)
        out[at] = _draw(data[at], seeds, keep[at], classes)[0]
        moved = np.zeros(len(lengths), dtype=np.bool_)
        moved[rows[at][out[at] != data[at]]] = True
        todo = todo[~moved[todo]]
    if len(todo):
        # The first replaceable byte of each row still unchanged, moved 1 to size - 1 places.
        at = _bytes_of(todo, offsets)
        base, size = _classes(data[at], keep[at], classes)
        _, firsts = np.unique(rows[at][size > 0], return_index=True)
        pick = np.flatnonzero(size)[firsts]
        step = 1 + below(derive(h[todo], _REDRAW_STREAM), size[pick] - 1)
        out[at[pick]] = base[pick] + (data[at[pick]] - base[pick] + step) % size[pick]
    return strings(out, lengths)


def _draw(
    data: npt.NDArray[np.uint8],
    seeds: U64,
    keep: npt.NDArray[np.bool_],
    classes: tuple[tuple[int, int], ...],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """`data` with each kept byte of `classes` replaced by one of its class drawn from its
    seed, and the mask of the bytes replaced."""
    out = data.copy()
    noise = derive(seeds, 7)
    replaced = np.zeros(len(data), dtype=np.bool_)
    for first, count in classes:
        inside = keep & (data >= first) & (data < first + count)
        out[inside] = first + below(noise[inside], count)
        replaced |= inside
    return out, replaced


def _classes(
    data: npt.NDArray[np.uint8], keep: npt.NDArray[np.bool_], classes: tuple[tuple[int, int], ...]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Each byte's class among `classes` as the class's first byte and its size; size 0 for a
    byte in none of them or not kept."""
    base = np.zeros(len(data), dtype=np.uint8)
    size = np.zeros(len(data), dtype=np.int64)
    for first, count in classes:
        inside = keep & (data >= first) & (data < first + count)
        base[inside], size[inside] = first, count
    return base, size


def _bytes_of(rows: npt.NDArray[np.int64], offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The byte positions of `rows`, row after row."""
    lengths = offsets[rows + 1] - offsets[rows]
    firsts = np.repeat(offsets[rows] - np.cumsum(lengths) + lengths, lengths)
    return firsts + np.arange(lengths.sum(), dtype=np.int64)


def matched(values: pa.Array, pattern: str) -> npt.NDArray[np.bool_]:
    """A mask over `values`' bytes: True inside matches of `pattern`. RE2 has no callback, so
    each match is wrapped in control-character sentinels and the mask is read from them with a
    running count; sentinels already in the data are first swapped for a stand-in byte."""
    stand_in = pc.replace_substring_regex(values, "[\x01\x02]", "?")
    wrapped = pc.replace_substring_regex(stand_in, pattern, "\x01\\0\x02")
    data, _ = to_bytes(wrapped)
    opened, closed = data == 1, data == 2
    inside: npt.NDArray[np.bool_] = (np.cumsum(opened) - np.cumsum(closed) > 0)[~(opened | closed)]
    return inside


def cut(values: pa.Array, lengths: npt.NDArray[np.int64]) -> pa.Array:
    """Each value cut to its own length. Arrow slices a column to one length, so this loops
    over the few distinct lengths that need a cut, never over values."""
    longer = pc.greater(pc.utf8_length(values), pa.array(lengths)).to_numpy(zero_copy_only=False)
    for size in np.unique(lengths[longer]):
        rows = pa.array(longer & (lengths == size))
        values = pc.if_else(rows, pc.utf8_slice_codeunits(values, 0, int(size)), values)
    return values
