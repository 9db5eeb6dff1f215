"""The keyed pseudo-random function behind every keyed transformer, over a whole column of
strings at once: a universal hash, then a block cipher (Carter-Wegman, as in UMAC).

Each value's UTF-8 bytes, right-aligned in a zero-filled row, are read as 3-byte limbs
m_1 .. m_L (each below 2^24) and hashed by three polynomials modulo the prime p = 2^31 - 1 at
secret points r_1, r_2, r_3:

    h_k = m_1 r_k^(L-1) + ... + m_(L-1) r_k + m_L  (mod p)

Leading zero limbs leave h_k unchanged, so a row may be padded to any width. Two distinct values
of the same byte length differ in some limb, and limbs are below p, so h_k - h'_k is a non-zero
polynomial of degree below L in r_k: all three agree with probability at most (L/p)^3 (about
2^-78 for a 100-byte value). The block (h_1, h_2, h_3, byte length) of four 32-bit lanes is
then encrypted with AES-256, a pseudo-random permutation: values of different lengths (below
2^32 bytes; PostgreSQL stops at 1 GB) never share a block, and distinct blocks never share an
output. Among q values the outputs are thus told from random
with advantage at most q^2/2 (L/p)^3 plus AES's own. Outputs wider than one block (two words)
take more blocks, kept apart by a block number in the spare top bit of each h_k.

The polynomials are computed by _keyed.c where it builds (services/engine/native.py), by NumPy
otherwise; tests/unit/test_keyed_hash.py holds both to a plain-Python reference."""

import hashlib
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from services.engine import native
from services.engine.transformers.prf import U64

_SOURCE = Path(__file__).with_name("_keyed.c")
P = (1 << 31) - 1
POLYNOMIALS = 3
# Personalization keeps these derivations apart from any other keyed BLAKE2b of the subkey.
PERSON = b"veilsync-keyed"
# Padded bytes hashed at a time, so the scratch (about 10 bytes per padded byte) stays small
# whatever the batch and the longest value.
CHUNK = 1 << 18
# Bytes summed in one float64 product: each term is below 2^8 * 2^31, so up to 2^13 of them sum
# exactly (below 2^53). Wider rows are hashed a span at a time, Horner-style.
SPAN = 3 << 11
# Bytes of a limb, most significant first: its weight in a polynomial is r^j times these.
LIMB_SHIFTS = np.array([1 << 16, 1 << 8, 1], dtype=np.uint64)


class KeyedHash:
    """`words` pseudo-random 64-bit integers per value (up to 16), keyed by a subkey."""

    def __init__(self, subkey: bytes) -> None:
        points = hashlib.blake2b(b"points", key=subkey, person=PERSON).digest()
        # Reducing 64 random bits mod p leaves a bias below 2^-32 on each point.
        self._points = [int(x) % P for x in np.frombuffer(points, "<u8")[:POLYNOMIALS]]
        aes = hashlib.blake2b(b"aes-256", key=subkey, person=PERSON, digest_size=32).digest()
        self._cipher = Cipher(algorithms.AES(aes), modes.ECB())
        self._weights = _weights(self._points)
        self._carry = np.array([pow(r, SPAN // 3, P) for r in self._points], dtype=np.uint64)

    def __call__(self, values: pa.Array, words: int) -> U64:
        blocks = -(-words // 2)
        if not 0 < blocks <= 1 << POLYNOMIALS:
            raise ValueError(f"words must be from 1 to 16, not {words}")
        if not pa.types.is_large_string(values.type):
            values = values.cast(pa.string())
        if values.null_count:  # Arrow lets a NULL slot hold bytes: read them as ""
            values = pc.fill_null(values, "")
        compiled = compiled_hashing()
        lanes = self.compiled_lanes(compiled, values) if compiled else self.numpy_lanes(values)
        return np.ascontiguousarray(self._encrypt(lanes, blocks)[:, :words])

    def compiled_lanes(self, compiled: ModuleType, values: pa.Array) -> npt.NDArray[np.uint32]:
        """(h_1, h_2, h_3, byte length) of each value, by _keyed.c."""
        lanes = np.empty((len(values), 4), dtype="<u4")
        data = values.buffers()[2] if len(values) else None
        compiled.polynomials(_offsets(values), data or b"", tuple(self._points), lanes)
        return lanes

    def numpy_lanes(self, values: pa.Array) -> npt.NDArray[np.uint32]:
        """compiled_lanes' numbers, by NumPy: each row padded, the padded rows multiplied by
        the points' powers."""
        lengths = np.diff(_offsets(values))
        lanes = np.zeros((len(values), 4), dtype="<u4")
        lanes[:, 3] = lengths
        # Rows grouped by their limb count rounded up to a power of two: padding at most doubles
        # a group's bytes, whatever the longest value in the batch.
        _, group = np.frexp(np.maximum(-(-lengths // 3), 1) - 1)
        for g in np.flatnonzero(np.bincount(group)):
            rows = np.flatnonzero(group == g)
            part = values if len(rows) == len(values) else values.take(pa.array(rows))
            lanes[rows, :POLYNOMIALS] = self._polynomials(part, 3 << int(g))
        return lanes

    def _polynomials(self, values: pa.Array, width: int) -> U64:
        """h_1 .. h_3 of each value, all at most `width` bytes long (a multiple of 3, and of
        SPAN when wider than it)."""
        span = min(width, SPAN)
        weights = self._weights[SPAN - span :]
        hashes = np.empty((len(values), POLYNOMIALS), dtype=np.uint64)
        step = max(1, CHUNK // width)
        for start in range(0, len(values), step):
            padded = _right_aligned(values.slice(start, step), width)
            h = np.zeros((len(padded), POLYNOMIALS), dtype=np.uint64)
            for column in range(0, width, span):
                # A span's Horner value as one exact product, then Horner across spans.
                terms = padded[:, column : column + span] @ weights
                h = (h * self._carry + terms.astype(np.uint64) % np.uint64(P)) % np.uint64(P)
            hashes[start : start + step] = h
        return hashes

    def _encrypt(self, lanes: npt.NDArray[np.uint32], blocks: int) -> U64:
        stacked = np.repeat(lanes[:, None, :], blocks, axis=1)
        for block in range(1, blocks):
            bits = (block >> np.arange(POLYNOMIALS, dtype=np.uint32)) & np.uint32(1)
            stacked[:, block, :POLYNOMIALS] |= bits << np.uint32(31)
        encryptor = self._cipher.encryptor()
        plaintext = stacked.reshape(-1).view(np.uint8).data
        ciphertext = encryptor.update(plaintext) + encryptor.finalize()
        return np.frombuffer(ciphertext, dtype="<u8").reshape(len(lanes), 2 * blocks)


def compiled_hashing() -> ModuleType | None:
    """_keyed.c where it builds (its lanes are written in this machine's byte order)."""
    if sys.byteorder != "little":
        return None
    return native.optional(_SOURCE, "hashing with NumPy")


def _offsets(values: pa.Array) -> npt.NDArray[np.int64]:
    """Each row's start in the data buffer, and the last row's end (len + 1 positions)."""
    if len(values) == 0:
        return np.zeros(1, dtype=np.int64)
    dtype = np.int64 if pa.types.is_large_string(values.type) else np.int32
    offsets = np.frombuffer(values.buffers()[1], dtype=dtype)
    return offsets[values.offset : values.offset + len(values) + 1].astype(np.int64)


def _right_aligned(values: pa.Array, width: int) -> npt.NDArray[np.uint8]:
    """The values' bytes straight from the Arrow buffers, each row right-aligned in `width`
    zeros."""
    offsets = _offsets(values)
    padded = np.zeros((len(values), width), dtype=np.uint8)
    if offsets[-1] > offsets[0]:
        data = np.frombuffer(values.buffers()[2], dtype=np.uint8)
        used = np.arange(width) >= width - np.diff(offsets)[:, None]
        padded[used] = data[offsets[0] : offsets[-1]]
    return padded


def _weights(points: list[int]) -> npt.NDArray[np.float64]:
    """The weight of each of a span's bytes in h_1 .. h_3: r^j * 2^(8 t) mod p for byte t of the
    limb j places from the end. Weights depend only on the distance from the row's end, so a
    narrower row takes the last ones."""
    powers = np.stack([_powers(r, SPAN // 3) for r in points], axis=1)[::-1]
    weights = powers[:, None, :] * LIMB_SHIFTS[None, :, None] % np.uint64(P)
    return weights.reshape(SPAN, len(points)).astype(np.float64)


def _powers(point: int, count: int) -> U64:
    """point^0 .. point^(count - 1) mod p, doubling the run each step."""
    powers = np.ones(1, dtype=np.uint64)
    while len(powers) < count:
        scale = np.uint64(pow(point, len(powers), P))
        powers = np.concatenate([powers, powers * scale % np.uint64(P)])
    return powers[:count]
