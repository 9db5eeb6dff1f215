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


def scramble(
    values: pa.Array,
    h: U64,
    selected: npt.NDArray[np.bool_] | None = None,
    letters: bool = True,
) -> pa.Array:
    """Each ASCII digit (and letter, when `letters`) replaced by a keyed one of the same class
    and case, at positions `selected` (all when None); other bytes, UTF-8 included, kept."""
    data, offsets = to_bytes(values)
    out = data.copy()
    lengths = np.diff(offsets)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    position = (np.arange(len(data), dtype=np.int64) - offsets[rows]).astype(np.uint64)
    noise = derive(h[rows] ^ (position * _GOLDEN), 7)
    keep = np.ones(len(data), dtype=np.bool_) if selected is None else selected
    digit = keep & (data >= ord("0")) & (data <= ord("9"))
    out[digit] = ord("0") + below(noise[digit], 10)
    if letters:
        for first in (ord("a"), ord("A")):
            letter = keep & (data >= first) & (data < first + 26)
            out[letter] = first + below(noise[letter], 26)
    return strings(out, lengths)


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
