"""The rules a job's mappings keep against its source's schema, written once as generators of
violations: planning stops at the first error (resolve_mappings), ValidateJob collects them
all (planning.drift.job_violations), PII suggestions keep the transformers with none."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from services.common.errors import InvalidArgumentError
from services.engine.planning.load_order import plan_tables
from services.engine.schema import Schema, Table
from services.engine.transformers import transformer_class, validate_transformer
from veilsync.v1 import job_pb2, transformer_pb2

Mappings = dict[str, dict[str, transformer_pb2.TransformerConfig]]


class Kind(StrEnum):
    UNKNOWN_TABLE = "unknown_table"
    UNKNOWN_COLUMN = "unknown_column"
    TYPE_MISMATCH = "type_mismatch"
    UNSUPPORTED_CYCLE = "unsupported_cycle"
    UNMAPPED_NEW_COLUMN = "unmapped_new_column"
    TYPE_CHANGED = "type_changed"
    REMOVED = "removed"
    INCONSISTENT_KEY = "inconsistent_key"
    INVALID_MAPPING = "invalid_mapping"


@dataclass(frozen=True)
class Violation:
    kind: Kind
    description: str
    field: str = ""
    table: str = ""
    column: str = ""
    error: bool = True  # False: a warning, the job still runs


def raise_first(violations: Iterable[Violation]) -> None:
    """Stop at the first error: InvalidArgumentError naming its field."""
    for violation in violations:
        if violation.error:
            raise InvalidArgumentError(violation.field, violation.description)


def resolve_mappings(job: job_pb2.Job, schema: Schema) -> Mappings:
    """Transformers by qualified table and column; InvalidArgumentError names the first field
    that does not fit the schema."""
    raise_first(mapping_violations(job, schema))
    return _resolved(job, schema)


def mapping_violations(job: job_pb2.Job, schema: Schema) -> Iterator[Violation]:
    """Every mapping that does not fit the schema, in the job's order, then every reference
    whose two ends are transformed differently."""
    seen: set[str] = set()
    for i, mapping in enumerate(job.mappings):
        field = f"job.mappings[{i}]"
        table = schema.resolve(mapping.table)
        if table is None:
            yield Violation(
                Kind.UNKNOWN_TABLE,
                f"table {mapping.table!r} does not exist in the source",
                f"{field}.table",
                mapping.table,
            )
            continue
        if table.qualified in seen:
            yield Violation(
                Kind.INVALID_MAPPING,
                f"{table.qualified} is mapped twice",
                f"{field}.table",
                table.qualified,
            )
            continue
        seen.add(table.qualified)
        for name, config in sorted(mapping.columns.items()):
            yield from column_violations(table, name, config, f"{field}.columns[{name}]")
    yield from _reference_violations(schema, _resolved(job, schema))


def column_violations(
    table: Table, name: str, config: transformer_pb2.TransformerConfig, field: str
) -> Iterator[Violation]:
    """The first way `config` does not fit the column, if any."""
    column = table.column(name)
    if column is None:
        yield Violation(
            Kind.UNKNOWN_COLUMN,
            f"column {name!r} does not exist in {table.qualified}",
            field,
            table.qualified,
            name,
        )
        return
    try:
        cls = transformer_class(config, field)
        if column.generated and cls.name != "passthrough":
            raise InvalidArgumentError(field, "generated columns are computed, not written")
        if column.family not in cls.data_types:
            accepted = ", ".join(str(t) for t in cls.data_types)
            raise InvalidArgumentError(
                field,
                f"{cls.name} accepts {accepted} columns, not {column.data_type} ({column.family})",
            )
        if cls.writes_null and not column.nullable:
            raise InvalidArgumentError(field, f"{cls.name} writes NULL but the column is NOT NULL")
        # Options, and options that cannot fit this column (its length, range, nullability).
        validate_transformer(config, field, column)
    except InvalidArgumentError as err:
        yield Violation(Kind.TYPE_MISMATCH, err.description, err.field, table.qualified, name)


def cycle_violations(schema: Schema) -> Iterator[Violation]:
    """A foreign-key cycle that no nullable column breaks."""
    try:
        plan_tables(schema.tables.values())
    except InvalidArgumentError as err:
        yield Violation(Kind.UNSUPPORTED_CYCLE, err.description, err.field)


def _resolved(job: job_pb2.Job, schema: Schema) -> Mappings:
    resolved: Mappings = {}
    for mapping in job.mappings:
        table = schema.resolve(mapping.table)
        if table is not None:
            resolved.setdefault(table.qualified, dict(mapping.columns))
    return resolved


def _reference_violations(schema: Schema, resolved: Mappings) -> Iterator[Violation]:
    """A transformed key keeps its references joinable only when every foreign key pointing at
    it is transformed the same way (the keyed transformers are deterministic)."""
    for table in schema.tables.values():
        for fk in table.foreign_keys:
            parent = resolved.get(fk.ref_qualified, {})
            child = resolved.get(table.qualified, {})
            for column, ref in zip(fk.columns, fk.ref_columns, strict=True):
                if parent.get(ref) != child.get(column):
                    yield Violation(
                        Kind.INCONSISTENT_KEY,
                        f"{table.qualified}.{column} references {fk.ref_qualified}.{ref}; map "
                        "both with the same transformer so references stay joinable",
                        "job.mappings",
                        table.qualified,
                        column,
                    )
