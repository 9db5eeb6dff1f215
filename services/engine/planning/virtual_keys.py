"""The job's virtual foreign keys (references the database does not declare) added to the
schema it plans on. Written once as a generator of violations, like planning.rules: planning
stops at the first, ValidateJob collects them all and still follows the ones that fit, so key
propagation and cycles are checked over the same references a run uses."""

import dataclasses
from collections.abc import Iterable, Iterator

from services.engine.planning.rules import Kind, Violation, raise_first
from services.engine.schema import ForeignKey, Schema
from veilsync.v1 import job_pb2

VirtualKeys = Iterable[job_pb2.VirtualForeignKey]


def virtual_key_violations(schema: Schema, declared: VirtualKeys) -> Iterator[Violation]:
    for i, vfk in enumerate(declared):
        yield from _violations(schema, vfk, f"job.source.virtual_foreign_keys[{i}]")


def with_virtual_foreign_keys(schema: Schema, declared: VirtualKeys) -> Schema:
    """The schema with the job's declared foreign keys added to their tables;
    InvalidArgumentError names the first that does not fit."""
    declared = list(declared)
    raise_first(virtual_key_violations(schema, declared))
    return with_fitting_virtual_keys(schema, declared)


def with_fitting_virtual_keys(schema: Schema, declared: VirtualKeys) -> Schema:
    """The schema with the declared foreign keys that fit added; the others are left to
    virtual_key_violations."""
    tables = dict(schema.tables)
    for i, vfk in enumerate(declared):
        child, parent = schema.resolve(vfk.table), schema.resolve(vfk.references_table)
        if child is None or parent is None or any(_violations(schema, vfk, "")):
            continue
        fk = ForeignKey(
            # Indexed by place in the job, so the name is stable across plans of one job.
            name=f"veilsync_virtual_{i}",
            columns=tuple(vfk.columns),
            ref_schema=parent.schema,
            ref_table=parent.name,
            ref_columns=tuple(vfk.references_columns),
        )
        current = tables[child.qualified]
        tables[child.qualified] = dataclasses.replace(
            current, foreign_keys=(*current.foreign_keys, fk)
        )
    return dataclasses.replace(schema, tables=tables)


def _violations(schema: Schema, vfk: job_pb2.VirtualForeignKey, field: str) -> Iterator[Violation]:
    child, parent = schema.resolve(vfk.table), schema.resolve(vfk.references_table)
    for table, name, where in (
        (child, vfk.table, "table"),
        (parent, vfk.references_table, "references_table"),
    ):
        if table is None:
            yield Violation(
                Kind.UNKNOWN_TABLE,
                f"table {name!r} does not exist in the source",
                f"{field}.{where}",
                name,
            )
    if child is None or parent is None:
        return
    if not vfk.columns or len(vfk.columns) != len(vfk.references_columns):
        yield Violation(
            Kind.INVALID_MAPPING,
            "name as many columns as references_columns, at least one",
            f"{field}.columns",
            child.qualified,
        )
        return
    for name, table, where in (
        *((c, child, "columns") for c in vfk.columns),
        *((c, parent, "references_columns") for c in vfk.references_columns),
    ):
        if table.column(name) is None:
            yield Violation(
                Kind.UNKNOWN_COLUMN,
                f"column {name!r} does not exist in {table.qualified}",
                f"{field}.{where}",
                table.qualified,
                name,
            )
