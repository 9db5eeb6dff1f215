"""Whole synthetic rows: the model's learned columns, with keys generated and PII columns
produced by Veilsync transformers around them."""

import uuid
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from services.ml_worker.backends.base import FittedModel
from services.ml_worker.spec import Role, TableSpec
from services.sync_worker.engine.transformers import build_transformer
from veilsync.v1 import model_pb2, transformer_pb2


def sample_rows(
    model: FittedModel, spec: TableSpec, rows: int, seed: int, offset: int, key: bytes
) -> pd.DataFrame:
    """Rows offset .. offset+rows of the sample with this seed."""
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


def output_types(spec: TableSpec) -> dict[str, int]:
    return {c.name: c.type for c in spec.columns if c.role is not Role.SKIPPED}


def key_columns(spec: TableSpec) -> list[str]:
    return [c.name for c in spec.columns if c.role is Role.ID]


def preview_columns(spec: TableSpec) -> list[model_pb2.ModelColumn]:
    return spec.output_columns()
