"""Column values from row ordinals, a whole batch at a time.

Generators are the catalog's transformers applied to the ordinals' text. Their per-value keyed
hash is replaced by a vectorized keyed mix of the ordinal (the inputs are integers, and there
is no source value to hide), so generating costs NumPy work only. A foreign key's values are
its parent key's values at parent ordinals picked by a keyed hash of the child's ordinal."""

import hashlib
from typing import cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from services.engine.transformers import ColumnBounds, validate_transformer
from services.engine.transformers.base import Hashing
from services.engine.transformers.prf import U64, derive, mix
from veilsync.temporal.v1 import generate_pb2

Ordinals = npt.NDArray[np.int64]


def ordinal_text(ordinals: Ordinals) -> pa.Array:
    return pa.array(ordinals, pa.int64()).cast(pa.string())


def _seed(material: bytes, label: str) -> tuple[np.uint64, np.uint64]:
    digest = hashlib.blake2b(
        label.encode(), key=hashlib.blake2b(material).digest(), digest_size=16
    ).digest()
    first, second = np.frombuffer(digest, dtype="<u8")
    return np.uint64(first), np.uint64(second)


def _as_ordinals(values: pa.Array) -> U64 | None:
    try:
        return cast(U64, values.cast(pa.uint64()).to_numpy(zero_copy_only=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


class OrdinalHashing(Hashing):
    """Inputs that are integers (row ordinals) hashed by a vectorized keyed mix of the number;
    text of a transformer's own making by the usual keyed hash."""

    byte_order = ">"

    def __init__(self, subkey: bytes) -> None:
        super().__init__(subkey)
        self._first, self._second = _seed(subkey, "ordinals")

    def __call__(self, values: pa.Array, words: int) -> U64:
        numbers = _as_ordinals(values)
        if numbers is None:
            return super().__call__(values, words)
        base = mix(numbers ^ self._first) ^ self._second
        return np.stack([derive(base, w) for w in range(words)], axis=1)


class ColumnValues:
    """One GeneratedColumn of `table`, built once per table: its values for any batch of
    ordinals. Each column draws from its own key, so two columns with the same generator still
    differ; a reference rebuilds its parent's column under the parent's name."""

    def __init__(self, column: generate_pb2.GeneratedColumn, key: bytes, table: str) -> None:
        self._column = column
        column_key = hashlib.blake2b(
            f"{table}.{column.name}".encode(), key=hashlib.blake2b(key).digest()
        ).digest()
        self._kind = column.WhichOneof("values")
        self._limit = column.max_length or None
        if self._kind == "generator":
            config = column.generator
            cls = validate_transformer(config, column.name)
            self._transformer = cls(
                getattr(config, cls.name),
                column_key,
                random=config.random,
                bounds=ColumnBounds.of(column.data_type, self._limit),
                hashing=OrdinalHashing,
            )
        elif self._kind == "reference":
            self._parent = ColumnValues(column.reference.column, key, column.reference.table)
            self._pick = _seed(key, column.reference.pick)[0]

    def values(self, ordinals: Ordinals) -> pa.Array:
        if self._kind == "generator":
            return self._transformer.transform(ordinal_text(ordinals), self._limit)
        if self._kind == "reference":
            parents, linked = self.parents(ordinals)
            values = self._parent.values(parents)
            if linked is None:
                return values
            return pc.if_else(pa.array(linked), values, pa.scalar(None, pa.string()))
        return ordinal_text(ordinals)

    def parents(self, ordinals: Ordinals) -> tuple[Ordinals, npt.NDArray[np.bool_] | None]:
        """The parent row of each row, and which rows have one (None: all of them)."""
        ref = self._column.reference
        if ref.one_to_one:
            return ordinals, None
        h = mix(ordinals.astype(np.uint64) ^ self._pick)
        if ref.tree:
            # Row i points at a row before it: a forest rooted at row 1, never a loop.
            span = np.maximum(ordinals - 1, 1).astype(np.uint64)
            return (h % span).astype(np.int64) + 1, ordinals > 1
        return (h % np.uint64(max(ref.rows, 1))).astype(np.int64) + 1, None
