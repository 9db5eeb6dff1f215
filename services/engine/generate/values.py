"""Column values from row ordinals, a whole batch at a time.

Generators are the catalog's transformers applied to the ordinals' text. Their per-value keyed
hash is replaced by a vectorized keyed mix of the ordinal (the inputs are integers, and there
is no source value to hide), so generating costs NumPy work only. A foreign key's values are
its parent key's values at parent ordinals picked by a keyed hash of the child's ordinal. A
following timestamp is its earlier column's value plus a keyed gap, so the two stay in order in
every row."""

import hashlib
from typing import cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from services.engine.transformers import ColumnBounds, validate_transformer
from services.engine.transformers.base import Hashing
from services.engine.transformers.chars import cut
from services.engine.transformers.email import generated_email
from services.engine.transformers.prf import U64, derive, mix, uniform
from services.engine.transformers.random_keys import transformer_key
from veilsync.temporal.v1 import generate_pb2

Ordinals = npt.NDArray[np.int64]


def ordinal_text(ordinals: Ordinals) -> pa.Array:
    return pa.array(ordinals, pa.int64()).cast(pa.string())


def timestamp_text(seconds: Ordinals) -> pa.Array:
    """What generate_utctimestamp writes: "2024-05-01 13:45:10+00"."""
    stamps = pa.array(seconds, pa.int64()).cast(pa.timestamp("s", "UTC"))
    return pc.strftime(stamps, format="%Y-%m-%d %H:%M:%S+00")


def timestamp_seconds(text: pa.Array) -> Ordinals:
    """Seconds since 1970 of timestamp_text's spelling."""
    stamps = pc.strptime(pc.utf8_slice_codeunits(text, 0, 19), "%Y-%m-%d %H:%M:%S", "s")
    return cast(Ordinals, stamps.cast(pa.int64()).to_numpy(zero_copy_only=False))


def ordinal_emails(h: U64, ordinals: Ordinals, max_length: int | None) -> pa.Array:
    """first.last.N@example.org with N the row ordinal: distinct by construction. Where the
    column is short, the name part gives way (down to N@example.org), never the ordinal."""
    local, domain = generated_email(h)
    names = pc.replace_substring_regex(local, r"\.[0-9]+$", "")
    number = ordinal_text(ordinals)
    if max_length:
        room = pc.subtract(max_length - 2, pc.add(pc.utf8_length(number), pc.utf8_length(domain)))
        # A local part may not end with a dot.
        names = pc.utf8_rtrim(cut(names, np.maximum(room.to_numpy(), 0).astype(np.int64)), ".")
    local = pc.if_else(pc.equal(names, ""), number, pc.binary_join_element_wise(names, number, "."))
    return pc.binary_join_element_wise(local, domain, "@")


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


def _column_key(key: bytes, table: str, column: str) -> bytes:
    return hashlib.blake2b(f"{table}.{column}".encode(), key=hashlib.blake2b(key).digest()).digest()


class ColumnValues:
    """One GeneratedColumn of `table`, built once per table: its values for any batch of
    ordinals. Each column draws from its own key, so two columns with the same generator still
    differ; a reference rebuilds its parent's column under the parent's name. A `random: true`
    generator draws from `run_key`, the run's (random_keys.py), so a column rebuilt this way
    still gives what was written."""

    def __init__(
        self,
        column: generate_pb2.GeneratedColumn,
        key: bytes,
        table: str,
        run_key: bytes | None = None,
    ) -> None:
        self._column = column
        column_key = _column_key(key, table, column.name)
        self._kind = column.WhichOneof("values")
        self._limit = column.max_length or None
        if self._kind == "generator":
            config = column.generator
            cls = validate_transformer(config, column.name)
            self._transformer = cls(
                getattr(config, cls.name),
                _column_key(transformer_key(key, config.random, run_key), table, column.name),
                bounds=ColumnBounds.of(column.data_type, self._limit),
                hashing=OrdinalHashing,
            )
        elif self._kind == "reference":
            ref = column.reference
            self._parent = ColumnValues(ref.column, key, ref.table, run_key)
            self._pick = _seed(key, ref.pick)[0]
        elif self._kind == "following":
            self._earlier = ColumnValues(column.following.after, key, table, run_key)
        self._hashing = OrdinalHashing(column_key)

    def values(self, ordinals: Ordinals) -> pa.Array:
        if self._kind == "generator":
            return self._transformer.transform(ordinal_text(ordinals), self._limit)
        if self._kind == "following":
            return timestamp_text(self.seconds(ordinals))
        if self._kind == "ordinal_email":
            h = self._hashing(pa.array(ordinals), 2)
            return ordinal_emails(h, ordinals, self._limit)
        if self._kind == "reference":
            parents, linked = self.parents(ordinals)
            values = self._parent.values(parents)
            if linked is None:
                return values
            return pc.if_else(pa.array(linked), values, pa.scalar(None, pa.string()))
        return ordinal_text(ordinals)

    def seconds(self, ordinals: Ordinals) -> Ordinals:
        """A timestamp column's values as seconds since 1970."""
        if self._kind != "following":
            return timestamp_seconds(self.values(ordinals))
        follow = self._column.following
        earlier = self._earlier.seconds(ordinals)
        span: Ordinals = np.full(len(ordinals), follow.max_gap_seconds - follow.min_gap_seconds)
        if follow.HasField("latest"):
            # The planner leaves room for min_gap before `latest`; only the gap's top shrinks.
            span = np.clip(follow.latest - earlier - follow.min_gap_seconds, 0, span)
        h = self._hashing(pa.array(ordinals), 1)[:, 0]
        gaps: Ordinals = (uniform(h) * (span + 1)).astype(np.int64)
        return earlier + follow.min_gap_seconds + gaps

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
