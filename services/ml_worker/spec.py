"""Schema-aware table metadata: what each column is to a model, decided from the database
schema (keys, types, enum labels) rather than guessed from values. Pure: no torch, no SDV."""

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import pyarrow as pa

from services.engine.generate.meanings import generator_for
from services.engine.inspect.pii import detect
from services.engine.schema import Column, Table, TypeFamily
from veilsync.v1 import model_pb2, transformer_pb2

MAX_CATEGORIES = 200  # distinct values a text column may have and still be learned
MAX_KEY_VALUES = 100_000  # foreign-key values kept to draw references from


class Role(StrEnum):
    ID = "id"  # primary key: generated, unique
    FOREIGN_KEY = "foreign_key"  # drawn from the referenced values seen in training
    PII = "pii"  # produced by a Veilsync transformer, never learned
    CATEGORICAL = "categorical"
    NUMERICAL = "numerical"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    SKIPPED = "skipped"  # a type no model learns (json, binary): left NULL

    @property
    def learned(self) -> bool:
        return self in _LEARNED


_LEARNED = {Role.CATEGORICAL, Role.NUMERICAL, Role.DATETIME, Role.BOOLEAN}

# Personal data the detector has no kind for: hashed, never learned.
_HASHED_NAMES = re.compile(r"passport|iban")


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    role: Role
    type: int  # a veilsync.v1.ModelColumnType value
    nullable: bool = True
    integer: bool = False
    transformer: str = ""  # TransformerConfig, serialized as hex, for PII columns
    max_length: int = 0


@dataclass(frozen=True)
class TableSpec:
    schema: str
    table: str
    columns: tuple[ColumnSpec, ...]
    # Values of each foreign-key column seen in training, to draw valid references from.
    key_values: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def learned(self) -> list[ColumnSpec]:
        return [c for c in self.columns if c.role.learned]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> "TableSpec":
        columns = tuple(ColumnSpec(**{**c, "role": Role(c["role"])}) for c in data["columns"])
        return TableSpec(data["schema"], data["table"], columns, dict(data["key_values"]))

    def output_columns(self) -> list[model_pb2.ModelColumn]:
        return [
            model_pb2.ModelColumn(name=c.name, type=c.type)  # type: ignore[arg-type]
            for c in self.columns
            if c.role is not Role.SKIPPED
        ]

    def sdv_metadata(self) -> dict[str, Any]:
        """SDV / SDMetrics single-table metadata of the learned columns."""
        columns: dict[str, Any] = {}
        for c in self.learned:
            columns[c.name] = {"sdtype": c.role.value}
        return {"columns": columns}


def pii_transformer(
    column: Column, sample: pa.Array | None = None
) -> transformer_pb2.TransformerConfig | None:
    """What stands in for a column of personal data, by the detector `jobs suggest` uses (its
    name, else its sampled values): the generator of its kind that a generate job would use
    (a city for a city), a hash where none fits the column; None for other columns."""
    found = detect(column.name, column.family, sample)
    if found is not None:
        return generator_for(found.kind, column) or _hash_config()
    return _hash_config() if _HASHED_NAMES.search(column.name.lower()) else None


def build_spec(
    table: Table,
    distinct_counts: dict[str, int],
    rows: int,
    transformers: dict[str, transformer_pb2.TransformerConfig],
    samples: Mapping[str, pa.Array] | None = None,
) -> TableSpec:
    """Roles from the schema; distinct counts only tell a category from free text, and sampled
    values (text columns, by name) what personal data a column holds whatever its name."""
    key_columns = {c for fk in table.foreign_keys for c in fk.columns}
    single_pk = table.primary_key[0] if len(table.primary_key) == 1 else None
    specs = []
    for column in table.columns:
        if column.generated:
            continue
        base: dict[str, Any] = {"name": column.name, "nullable": column.nullable}
        family = column.family
        config = transformers.get(column.name) or pii_transformer(
            column, (samples or {}).get(column.name)
        )
        if column.name == single_pk and column.name not in key_columns:
            spec = ColumnSpec(
                **base, role=Role.ID, type=_type_of(family), integer=family == TypeFamily.INTEGER
            )
        elif column.name in key_columns or column.name in table.primary_key:
            spec = ColumnSpec(**base, role=Role.FOREIGN_KEY, type=_type_of(family))
        elif column.name in transformers or (family == TypeFamily.TEXT and config is not None):
            spec = _pii(base, config, column.max_length)
        elif family == TypeFamily.BOOLEAN:
            spec = ColumnSpec(**base, role=Role.BOOLEAN, type=model_pb2.MODEL_COLUMN_TYPE_BOOLEAN)
        elif family == TypeFamily.TEMPORAL:
            spec = ColumnSpec(**base, role=Role.DATETIME, type=model_pb2.MODEL_COLUMN_TYPE_DATETIME)
        elif family in (TypeFamily.INTEGER, TypeFamily.NUMERIC):
            integer = family == TypeFamily.INTEGER
            spec = ColumnSpec(**base, role=Role.NUMERICAL, type=_type_of(family), integer=integer)
        elif family == TypeFamily.TEXT:
            distinct = distinct_counts.get(column.name, 0)
            free_text = not column.enum_labels and distinct > min(MAX_CATEGORIES, rows * 0.8)
            if free_text:  # no category to learn, and free text may carry PII
                spec = _pii(base, _hash_config(), column.max_length)
            else:
                spec = ColumnSpec(
                    **base, role=Role.CATEGORICAL, type=model_pb2.MODEL_COLUMN_TYPE_STRING
                )
        elif family == TypeFamily.UUID:
            spec = ColumnSpec(**base, role=Role.ID, type=model_pb2.MODEL_COLUMN_TYPE_STRING)
        else:
            spec = ColumnSpec(**base, role=Role.SKIPPED, type=model_pb2.MODEL_COLUMN_TYPE_STRING)
        specs.append(spec)
    return TableSpec(table.schema, table.name, tuple(specs))


def _pii(
    base: dict[str, Any], config: transformer_pb2.TransformerConfig | None, max_length: int | None
) -> ColumnSpec:
    config = config or _hash_config()
    return ColumnSpec(
        **base,
        role=Role.PII,
        type=model_pb2.MODEL_COLUMN_TYPE_STRING,
        transformer=config.SerializeToString(deterministic=True).hex(),
        max_length=max_length or 0,
    )


def _hash_config() -> transformer_pb2.TransformerConfig:
    config = transformer_pb2.TransformerConfig()
    config.transform_hash.SetInParent()
    return config


def _type_of(family: TypeFamily) -> int:
    return {
        TypeFamily.INTEGER: model_pb2.MODEL_COLUMN_TYPE_INTEGER,
        TypeFamily.NUMERIC: model_pb2.MODEL_COLUMN_TYPE_FLOAT,
        TypeFamily.BOOLEAN: model_pb2.MODEL_COLUMN_TYPE_BOOLEAN,
        TypeFamily.TEMPORAL: model_pb2.MODEL_COLUMN_TYPE_DATETIME,
    }.get(family, model_pb2.MODEL_COLUMN_TYPE_STRING)
