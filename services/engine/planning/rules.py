"""The rules a job's mappings keep against its source's schema, written once as generators of
violations: planning stops at the first error (resolve_mappings), ValidateJob collects them
all (planning.drift.job_violations), PII suggestions keep the transformers with none."""

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from services.common.errors import InvalidArgumentError
from services.engine.planning.key_propagation import ColumnRef, Config, describe, propagate
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
    """Transformers by qualified table and column as a run applies them: a key's transformer
    is written out on every column that references it (key_propagation). `schema` carries the
    job's virtual foreign keys. InvalidArgumentError names the first field that does not fit."""
    raise_first(mapping_violations(job, schema))
    return applied_mappings(job, schema)


def applied_mappings(job: job_pb2.Job, schema: Schema) -> Mappings:
    """What resolve_mappings returns, unchecked: for reports on a job that may not fit."""
    explicit = {column: config for column, (config, _) in _explicit(job, schema).items()}
    return propagate(schema, explicit).by_table()


def mapping_violations(job: job_pb2.Job, schema: Schema) -> Iterator[Violation]:
    """Every mapping that does not fit the schema, in the job's order, then every reference
    whose two ends would be transformed differently, then every inherited transformer that does
    not fit the column it lands on. `schema` carries the job's virtual foreign keys."""
    seen: set[str] = set()
    unfit: set[ColumnRef] = set()
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
            for violation in column_violations(table, name, config, f"{field}.columns[{name}]"):
                unfit.add((table.qualified, name))
                yield violation
    yield from _reference_violations(schema, _explicit(job, schema), unfit)


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


def _explicit(job: job_pb2.Job, schema: Schema) -> dict[ColumnRef, tuple[Config, str]]:
    """Each mapped column's transformer and the field that maps it; a table mapped twice keeps
    its first mapping (the second is a violation of its own)."""
    found: dict[ColumnRef, tuple[Config, str]] = {}
    seen: set[str] = set()
    for i, mapping in enumerate(job.mappings):
        table = schema.resolve(mapping.table)
        if table is None or table.qualified in seen:
            continue
        seen.add(table.qualified)
        for name, config in sorted(mapping.columns.items()):
            found[(table.qualified, name)] = (config, f"job.mappings[{i}].columns[{name}]")
    return found


def _reference_violations(
    schema: Schema, explicit: dict[ColumnRef, tuple[Config, str]], unfit: set[ColumnRef]
) -> Iterator[Violation]:
    """A transformed key keeps its references joinable only when every column referencing it
    carries the same transformer (keyed transformers are deterministic); references inherit it,
    so what is left to refuse is an explicit mapping that differs, and an inherited transformer
    that cannot write the referencing column (reported on the key's mapping, the one to fix)."""
    propagation = propagate(schema, {column: config for column, (config, _) in explicit.items()})
    for ref, why in propagation.conflicts():
        field = explicit[ref.column][1] if ref.column in explicit else "job.mappings"
        yield Violation(Kind.INCONSISTENT_KEY, why, field, *ref.column)
    for column in propagation.inherited_from:
        origin = propagation.origin(column)
        if origin in unfit:
            continue  # already reported on the key itself
        config, field = explicit[origin]
        table = schema.tables[column[0]]
        for violation in column_violations(table, column[1], config, field):
            yield dataclasses.replace(
                violation,
                description=f"{table.qualified}.{column[1]} inherits {describe(config)} from "
                f"{origin[0]}.{origin[1]}: {violation.description}",
            )
