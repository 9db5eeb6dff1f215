"""Template of every transformer: `transform` handles NULLs, repeated values, key derivation and
length limits; subclasses implement `_transform` over distinct non-NULL values."""

import hashlib
from abc import ABC, abstractmethod
from typing import ClassVar

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
        encoded = values.dictionary_encode()
        distinct: list[str] = encoded.dictionary.to_pylist()
        outputs = pa.array(self._transform(distinct), pa.string()).take(encoded.indices)
        if max_length:
            outputs = pc.utf8_slice_codeunits(outputs, 0, max_length)
        return outputs

    @abstractmethod
    def _transform(self, values: list[str]) -> list[str | None]:
        """Outputs for distinct non-NULL inputs, in the same order."""

    def _digests(self, values: list[str], size: int = 16) -> list[bytes]:
        """Keyed BLAKE2b digest of each value: a pseudo-random function of (key, value)."""
        subkey = self._subkey
        return [hashlib.blake2b(v.encode(), key=subkey, digest_size=size).digest() for v in values]
