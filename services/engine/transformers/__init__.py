"""The transformer catalog: build a transformer from its proto config, describe the catalog,
preview outputs."""

from dataclasses import dataclass
from typing import TypeAlias

import pyarrow as pa
from google.protobuf.message import Message

from services.common.errors import InvalidArgumentError
from services.engine.schema import Column
from services.engine.transformers import base
from services.engine.transformers.bounds import ColumnBounds
from services.engine.transformers.builtin import CATALOG
from services.engine.transformers.random_keys import transformer_key
from veilsync.v1 import transformer_pb2

__all__ = [
    "ColumnBounds",
    "Transformer",
    "TransformerInfo",
    "build_transformer",
    "describe_transformers",
    "preview",
    "transformer_class",
    "validate_transformer",
]

# Any configured transformer, whatever its options message.
Transformer: TypeAlias = base.Transformer[Message]

PREVIEW_KEY = b"veilsync-preview-key"
MAX_PREVIEW_VALUES = 1000


@dataclass(frozen=True)
class TransformerInfo:
    name: str
    description: str
    data_types: list[str]
    deterministic: bool
    version: int


def transformer_class(config: transformer_pb2.TransformerConfig, field: str) -> type[Transformer]:
    kind = config.WhichOneof("config")
    if kind is None:
        raise InvalidArgumentError(field, "no transformer is set")
    cls = CATALOG.get(kind)
    if cls is None:
        raise InvalidArgumentError(field, f"transformer {kind} is not supported by this worker")
    return cls


def validate_transformer(
    config: transformer_pb2.TransformerConfig, field: str, column: Column | None = None
) -> type[Transformer]:
    """The transformer's class once its options (and, given the column, their fit to it) are
    checked; InvalidArgumentError names the option, such as `field.transform_string.min_length`."""
    cls = transformer_class(config, field)
    cls.validate(getattr(config, cls.name), field, column)  # names are the oneof's fields
    return cls


def build_transformer(
    config: transformer_pb2.TransformerConfig,
    key: bytes,
    field: str = "config",
    *,
    random: bool = False,
    run_key: bytes | None = None,
    bounds: ColumnBounds | None = None,
) -> Transformer:
    """`random` (or the config's `random: true`) swaps the job's `key` for `run_key`, the run's
    (random_keys.derive_run_key), or without one a fresh key for this transformer alone;
    `bounds` are the column's limits (ColumnBounds.of(plan.data_type, plan.max_length)) that
    outputs respect."""
    cls = validate_transformer(config, field)
    chosen = transformer_key(key, random or config.random, run_key)
    return cls(getattr(config, cls.name), chosen, bounds=bounds)


def describe_transformers() -> list[TransformerInfo]:
    return [
        TransformerInfo(
            name=cls.name,
            description=cls.description,
            data_types=[str(t) for t in cls.data_types],
            deterministic=cls.deterministic,
            version=cls.version,
        )
        for cls in sorted(CATALOG.values(), key=lambda c: c.name)
    ]


def preview(
    config: transformer_pb2.TransformerConfig, values: list[str | None], key: bytes
) -> list[str | None]:
    if len(values) > MAX_PREVIEW_VALUES:
        raise InvalidArgumentError("values", f"at most {MAX_PREVIEW_VALUES} values")
    transformer = build_transformer(config, key or PREVIEW_KEY)
    result: list[str | None] = transformer.transform(pa.array(values, pa.string())).to_pylist()
    return result
