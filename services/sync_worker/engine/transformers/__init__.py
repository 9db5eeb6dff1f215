"""The transformer catalog: build a transformer from its proto config, describe the catalog,
preview outputs."""

from dataclasses import dataclass

import pyarrow as pa

from services.common.errors import InvalidArgumentError
from services.sync_worker.engine.transformers.base import Transformer

__all__ = [
    "Transformer",
    "TransformerInfo",
    "build_transformer",
    "describe_transformers",
    "preview",
    "transformer_class",
]
from services.sync_worker.engine.transformers.builtin import CATALOG
from veilsync.v1 import transformer_pb2

PREVIEW_KEY = b"veilsync-preview-key"
MAX_PREVIEW_VALUES = 1000


@dataclass(frozen=True)
class TransformerInfo:
    name: str
    description: str
    data_types: list[str]
    deterministic: bool


def transformer_class(config: transformer_pb2.TransformerConfig, field: str) -> type[Transformer]:
    kind = config.WhichOneof("config")
    if kind is None:
        raise InvalidArgumentError(field, "no transformer is set")
    cls = CATALOG.get(kind)
    if cls is None:
        raise InvalidArgumentError(field, f"transformer {kind} is not supported by this worker")
    return cls


def build_transformer(
    config: transformer_pb2.TransformerConfig, key: bytes, field: str = "config"
) -> Transformer:
    cls = transformer_class(config, field)
    return cls(getattr(config, cls.name), key)  # catalog names are the oneof's field names


def describe_transformers() -> list[TransformerInfo]:
    return [
        TransformerInfo(
            name=cls.name,
            description=cls.description,
            data_types=[str(t) for t in cls.data_types],
            deterministic=cls.deterministic,
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
