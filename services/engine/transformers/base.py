"""Template of every transformer: `transform` handles NULLs, casting and length limits;
subclasses implement `_transform` over a whole column of non-NULL strings at once."""

import hashlib
from abc import ABC, abstractmethod
from typing import ClassVar, Generic, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from google.protobuf.message import Message

from services.common.errors import InvalidArgumentError
from services.engine.schema import Column, TypeFamily
from services.engine.transformers.bounds import ColumnBounds
from services.engine.transformers.keyed import KeyedHash
from services.engine.transformers.prf import hex_text

OptionsT = TypeVar("OptionsT", bound=Message)


class Hashing:
    """How a transformer turns each input into pseudo-random 64-bit words: the keyed hash of
    its text (keyed.py). A generate job, whose inputs are row ordinals, swaps in its own."""

    # Byte order in which `Transformer._hex_hashes` spells the words.
    byte_order: ClassVar[str] = "<"

    def __init__(self, subkey: bytes) -> None:
        self._keyed = KeyedHash(subkey)

    def __call__(self, values: pa.Array, words: int) -> npt.NDArray[np.uint64]:
        return self._keyed(values, words)


class Transformer(ABC, Generic[OptionsT]):
    """One column transformer configured with its options and the job's secret key."""

    name: ClassVar[str]
    description: ClassVar[str]
    # The algorithm's version: bumped whenever the outputs for a (key, options, value) change,
    # since a destination synced before the change would no longer join with rows synced
    # after it. Jobs record it when saved and workers refuse versions they do not implement;
    # tests/unit/transformer_vectors.json pins the outputs of each version.
    version: ClassVar[int] = 1
    # Whether outputs depend on the job's key (every transformer but those that keep, drop or
    # mask a value): the ones known-answer vectors must cover.
    keyed: ClassVar[bool] = True
    data_types: ClassVar[tuple[TypeFamily, ...]] = (TypeFamily.TEXT,)
    deterministic: ClassVar[bool] = True
    # Whether NULL is a possible output for a non-NULL input (the column must be nullable).
    writes_null: ClassVar[bool] = False
    # Whether the writer must leave the column out of the rows it writes, so the destination
    # fills in its DEFAULT; `transform` then returns NULLs that are never written.
    omits_column: ClassVar[bool] = False
    # Whether `transform_in` reads the rest of the row: every column of its batch must then be
    # text, so the row cannot travel in binary form (copy/wire.py).
    reads_row: ClassVar[bool] = False
    # Whether distinct inputs give distinct outputs (a permutation, or a UUID or full hash up
    # to the odds of a collision): what a key column needs.
    unique_outputs: ClassVar[bool] = False

    def __init__(
        self,
        options: OptionsT,
        key: bytes,
        *,
        bounds: ColumnBounds | None = None,
        hashing: type[Hashing] = Hashing,
    ) -> None:
        """`key` is the job's, or for `random: true` the run's (random_keys.py)."""
        self.options = options
        self.bounds = bounds or ColumnBounds()
        # One subkey per (key, transformer, options): the same triple always gives the same
        # outputs, and different options never share a mapping.
        self._subkey = hashlib.blake2b(
            options.SerializeToString(deterministic=True),
            key=hashlib.blake2b(key).digest(),
            person=self.name.encode()[:16],
        ).digest()
        self._hashing = hashing(self._subkey)

    @classmethod
    def validate(cls, options: OptionsT, field: str, column: Column | None = None) -> None:
        """Raises InvalidArgumentError naming the option that cannot work, alone or, given the
        column, for that column."""
        where = f"{field}.{cls.name}"
        cls.check_options(options, where)
        if column is not None:
            cls.check_column(options, column, where)

    @classmethod
    def check_options(cls, options: OptionsT, field: str) -> None:
        """Options that are wrong whatever the column; `field` prefixes the option's name."""

    @classmethod
    def check_column(cls, options: OptionsT, column: Column, field: str) -> None:
        """Options that cannot fit this column (its length, range or nullability)."""

    def transform_in(
        self, batch: pa.RecordBatch, values: pa.Array, max_length: int | None = None
    ) -> pa.Array:
        """`transform` of one column of `batch`; only a transformer that reads the rest of the
        row (transform_expression) looks at the batch."""
        return self.transform(values, max_length)

    def transform(self, values: pa.Array, max_length: int | None = None) -> pa.Array:
        if values.type != pa.string():
            values = values.cast(pa.string())
        if _repeats(values):
            # Outputs depend on the value alone: transform each distinct value once.
            encoded = values.dictionary_encode()
            distinct = self.transform(encoded.dictionary, max_length)
            return distinct.take(encoded.indices)
        nulls = values.null_count
        outputs = self._transform(pc.fill_null(values, "") if nulls else values)
        limit = max_length or self.bounds.max_length
        if limit:
            outputs = self._fit(outputs, limit)
        if nulls:
            outputs = pc.if_else(pc.is_valid(values), outputs, pa.scalar(None, pa.string()))
        return outputs

    @abstractmethod
    def _transform(self, values: pa.Array) -> pa.Array:
        """Outputs for a column of non-NULL strings, in the same order."""

    def _fit(self, outputs: pa.Array, max_length: int) -> pa.Array:
        """Outputs cut to the column's length; formats that must stay valid override this."""
        return pc.utf8_slice_codeunits(outputs, 0, max_length)

    def _hashes(self, values: pa.Array, words: int = 2) -> npt.NDArray[np.uint64]:
        """`words` 64-bit integers per row, a pseudo-random function of (subkey, value): a
        polynomial hash encrypted with AES-256 (keyed.py), computed for the whole column."""
        return self._hashing(values, words)

    def _hex_hashes(self, values: pa.Array) -> pa.Array:
        """The keyed 256-bit hash of each value as 64 hex characters."""
        return hex_text(self._hashes(values, 4), self._hashing.byte_order)


def option_error(field: str, option: str, message: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"{field}.{option}", message)


def check_range(field: str, low: tuple[str, float], high: tuple[str, float]) -> None:
    """min <= max, named by the option that must change."""
    if low[1] > high[1]:
        raise option_error(field, low[0], f"must not exceed {high[0]} ({low[1]} > {high[1]})")


def check_length_fits(column: Column, field: str, option: str, needed: int) -> None:
    """Outputs of `needed` characters must fit the column's maximum length."""
    if column.max_length and column.max_length < needed:
        raise option_error(
            field,
            option,
            f"outputs need {needed} characters but {column.name} holds {column.max_length}",
        )


_SAMPLE = 4096


def _repeats(values: pa.Array) -> bool:
    """Whether the column repeats itself enough (names, cities, statuses) that finding its
    distinct values costs less than hashing them all; judged on a leading sample."""
    if len(values) < 2 * _SAMPLE:
        return False
    sample = values.slice(0, _SAMPLE)
    return bool(len(pc.unique(sample)) < _SAMPLE * 9 // 10)


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
