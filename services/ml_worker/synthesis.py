"""Whole synthetic rows: the model's learned columns, with keys generated and PII columns
produced by Veilsync transformers around them."""

import hashlib
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from services.common.errors import FailedPreconditionError
from services.engine.generate.values import ColumnValues
from services.ml_worker.backends.base import FittedModel
from services.ml_worker.spec import ColumnSpec, Role, TableSpec
from services.ml_worker.tables import whole_numbers
from veilsync.temporal.v1 import generate_pb2
from veilsync.v1 import transformer_pb2


@dataclass(frozen=True)
class ParentKeys:
    """The rows a foreign key may point at, read from the destination when sampling: the
    referencing columns draw whole rows of these, so a composite key stays consistent."""

    table: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def sample_rows(
    model: FittedModel,
    spec: TableSpec,
    rows: int,
    seed: int,
    offset: int,
    key: bytes,
    parents: Sequence[ParentKeys] = (),
    nulls: Collection[str] = (),
) -> pd.DataFrame:
    """Rows offset .. offset+rows of the sample with this seed. Foreign keys draw from
    `parents` where given, else from the values seen in training; `nulls` are left NULL."""
    learned = model.sample(rows, seed + offset).reset_index(drop=True)
    rng = np.random.default_rng([seed, offset])
    ordinals = np.arange(offset + 1, offset + rows + 1, dtype=np.int64)
    out: dict[str, Any] = {}
    for column in spec.columns:
        if column.role.learned:
            values = learned[column.name]
            out[column.name] = whole_numbers(values) if column.integer else values
        elif column.role is Role.ID:
            out[column.name] = _ids(column.integer, rows, offset, rng)
        elif column.role is Role.FOREIGN_KEY:
            values = spec.key_values.get(column.name) or [None]
            out[column.name] = [values[i] for i in rng.integers(0, len(values), rows)]
        elif column.role is Role.PII:
            out[column.name] = _pii(column, spec.table, ordinals, seed, key)
    nullable = {c.name for c in spec.columns if c.nullable}
    for parent in parents:
        present = [c for c in parent.columns if c in out]
        if not parent.rows:
            if not set(present) <= nullable:
                raise FailedPreconditionError(
                    f"{spec.schema}.{spec.table} references {parent.table}, which has no rows "
                    "in the destination"
                )
            for name in present:
                out[name] = [None] * rows
            continue
        picks = rng.integers(0, len(parent.rows), rows)
        for name in present:
            j = parent.columns.index(name)
            out[name] = [parent.rows[i][j] for i in picks]
    for name in nulls:
        if name in out:
            out[name] = [None] * rows
    return pd.DataFrame(out)


def _ids(integer: bool, rows: int, offset: int, rng: np.random.Generator) -> list[Any]:
    if integer:
        return list(range(offset + 1, offset + rows + 1))
    return [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(rows)]


def _pii(
    column: ColumnSpec, table: str, ordinals: npt.NDArray[np.int64], seed: int, key: bytes
) -> npt.NDArray[np.object_]:
    """The column's generator over the sample's row numbers, as a generate job runs it: keyed
    per column (two columns never share a draw) and per seed (another sample, other values)."""
    made = generate_pb2.GeneratedColumn(
        name=column.name,
        data_type="text",
        max_length=column.max_length,
        generator=transformer_pb2.TransformerConfig.FromString(bytes.fromhex(column.transformer)),
    )
    seeded = hashlib.blake2b(str(seed).encode(), key=hashlib.blake2b(key).digest()).digest()
    values: pa.Array = ColumnValues(made, seeded, table).values(ordinals)
    return values.to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]


def key_columns(spec: TableSpec) -> list[str]:
    return [c.name for c in spec.columns if c.role is Role.ID]
