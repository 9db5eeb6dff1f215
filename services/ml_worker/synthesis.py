"""Whole synthetic rows: the model's learned columns, with keys generated and PII columns
produced by Veilsync transformers around them."""

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from services.common.errors import FailedPreconditionError
from services.engine.transformers import build_transformer
from services.ml_worker.backends.base import FittedModel
from services.ml_worker.spec import Role, TableSpec
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
    out: dict[str, Any] = {}
    for column in spec.columns:
        if column.role.learned:
            out[column.name] = learned[column.name]
        elif column.role is Role.ID:
            out[column.name] = _ids(column.integer, rows, offset, rng)
        elif column.role is Role.FOREIGN_KEY:
            values = spec.key_values.get(column.name) or [None]
            out[column.name] = [values[i] for i in rng.integers(0, len(values), rows)]
        elif column.role is Role.PII:
            out[column.name] = _pii(column.transformer, column.max_length, rows, seed, offset, key)
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
    transformer_hex: str, max_length: int, rows: int, seed: int, offset: int, key: bytes
) -> list[Any]:
    config = transformer_pb2.TransformerConfig.FromString(bytes.fromhex(transformer_hex))
    transformer = build_transformer(config, key)
    inputs = pa.array([f"{seed}:{offset + i}" for i in range(rows)], pa.string())
    result: list[Any] = transformer.transform(inputs, max_length or None).to_pylist()
    return result


def key_columns(spec: TableSpec) -> list[str]:
    return [c.name for c in spec.columns if c.role is Role.ID]
