"""Template of every transformer: `transform` handles NULLs, casting and length limits;
subclasses implement `_transform` over a whole column of non-NULL strings at once."""

import hashlib
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from google.protobuf.message import Message

from services.sync_worker.engine.schema import TypeFamily


class Transformer(ABC):
    """One column transformer configured with its options and the job's secret key."""

    name: ClassVar[str]
    description: ClassVar[str]
    data_types: ClassVar[tuple[TypeFamily, ...]] = (TypeFamily.TEXT,)
    deterministic: ClassVar[bool] = True
    # Whether NULL is a possible output for a non-NULL input (the column must be nullable).
    writes_null: ClassVar[bool] = False

    def __init__(self, options: Message, key: bytes) -> None:
        self.options = options
        # One subkey per (key, transformer, options): the same triple always gives the same
        # outputs, and different options never share a mapping.
        self._subkey = hashlib.blake2b(
            options.SerializeToString(deterministic=True),
            key=hashlib.blake2b(key).digest(),
            person=self.name.encode()[:16],
        ).digest()

    def transform(self, values: pa.Array, max_length: int | None = None) -> pa.Array:
        if values.type != pa.string():
            values = values.cast(pa.string())
        nulls = values.null_count
        outputs = self._transform(pc.fill_null(values, "") if nulls else values)
        if nulls:
            outputs = pc.if_else(pc.is_valid(values), outputs, pa.scalar(None, pa.string()))
        if max_length:
            outputs = pc.utf8_slice_codeunits(outputs, 0, max_length)
        return outputs

    @abstractmethod
    def _transform(self, values: pa.Array) -> pa.Array:
        """Outputs for a column of non-NULL strings, in the same order."""

    def _hashes(self, values: pa.Array, words: int = 2) -> npt.NDArray[np.uint64]:
        """Keyed BLAKE2b of each value as `words` 64-bit integers per row: a pseudo-random
        function of (key, value). The only per-value Python step of a keyed transformer."""
        start = hashlib.blake2b(key=self._subkey, digest_size=8 * words).copy
        digests = []
        for value in values.to_pylist():
            state = start()
            state.update(value.encode())
            digests.append(state.digest())
        return np.frombuffer(b"".join(digests), dtype="<u8").reshape(-1, words)

    def _hex_hashes(self, values: pa.Array) -> pa.Array:
        start = hashlib.blake2b(key=self._subkey, digest_size=32).copy
        out = []
        for value in values.to_pylist():
            state = start()
            state.update(value.encode())
            out.append(state.hexdigest())
        return pa.array(out, pa.string())


def pick(
    words: pa.Array, hashes: npt.NDArray[np.uint64], avoid: pa.Array | None = None
) -> pa.Array:
    """A word per hash; where it equals `avoid` (ignoring case), the next word instead."""
    index = (hashes % np.uint64(len(words))).astype(np.int64)
    picked = words.take(pa.array(index))
    if avoid is not None:
        same = pc.equal(pc.utf8_lower(picked), pc.utf8_lower(avoid))
        index = np.where(same.to_numpy(zero_copy_only=False), (index + 1) % len(words), index)
        picked = words.take(pa.array(index))
    return picked
