"""Vectorized pseudo-random numbers derived from the keyed per-value hashes: every extra number
a transformer needs comes from mixing its row's hash, never from more per-value Python."""

import numpy as np
import numpy.typing as npt
import pyarrow as pa

U64 = npt.NDArray[np.uint64]
GOLDEN = 0x9E3779B97F4A7C15
ALPHANUMERIC = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def mix(x: U64) -> U64:
    """SplitMix64's finalizer: a bijection of uint64 whose output bits each depend on every input
    bit, so nearby inputs give unrelated outputs."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def derive(h: U64, stream: int) -> U64:
    """The `stream`-th independent-looking number of each row."""
    # Python ints wrap explicitly: NumPy warns on uint64 scalar overflow (arrays just wrap).
    return mix(h + np.uint64((stream + 1) * GOLDEN % 2**64))


def below(h: U64, n: int | npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Numbers in [0, n); the modulo bias is under n / 2^64."""
    return (h % np.asarray(n, dtype=np.uint64)).astype(np.int64)


def uniform(h: U64) -> npt.NDArray[np.float64]:
    """Floats in [0, 1) from the top 53 bits."""
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def strings(data: npt.NDArray[np.uint8], lengths: npt.NDArray[np.int64]) -> pa.Array:
    """A string array from concatenated ASCII bytes and each row's length."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return pa.LargeStringArray.from_buffers(
        len(lengths), pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data))
    ).cast(pa.string())


HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# Each byte's two hex digits, read as one little-endian uint16: one lookup per byte.
HEX_PAIRS = np.array([int.from_bytes(f"{i:02x}".encode(), "little") for i in range(256)], "<u2")


def hex_text(words: U64, byte_order: str = "<") -> pa.Array:
    """Each row's words as lower-case hex of their bytes (little-endian by default: a digest
    read with np.frombuffer("<u8") comes back as its own hexdigest)."""
    data = words.astype(f"{byte_order}u8").view(np.uint8).reshape(len(words), -1)
    text = HEX_PAIRS[data].view(np.uint8).reshape(-1)
    return strings(text, np.full(len(words), 2 * data.shape[1], dtype=np.int64))


def random_chars(
    h: U64, lengths: npt.NDArray[np.int64], alphabet: bytes, stream: int = 0
) -> pa.Array:
    """A string per row of `lengths[row]` characters from `alphabet`."""
    rows = np.repeat(np.arange(len(lengths), dtype=np.uint64), lengths)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    position = np.arange(len(rows), dtype=np.int64) - starts
    picks = derive(h[rows] ^ (position.astype(np.uint64) * np.uint64(GOLDEN)), stream)
    table = np.frombuffer(alphabet, dtype=np.uint8)
    return strings(table[below(picks, len(table))], lengths)


def digits(h: U64, count: int, stream: int = 0) -> pa.Array:
    """`count` decimal digits per row."""
    return random_chars(h, np.full(len(h), count, dtype=np.int64), b"0123456789", stream)
