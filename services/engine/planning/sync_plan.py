"""A job and its source schema to the plan a run follows."""

import dataclasses
from collections.abc import Iterable

from services.common.errors import InvalidArgumentError
from services.engine.planning.load_order import plan_tables
from services.engine.planning.rules import resolve_mappings
from services.engine.planning.subset import Subsetter
from services.engine.planning.synthesize import synthesize_plans
from services.engine.planning.table_plans import reference, table_plan
from services.engine.planning.where_clause import parse_where
from services.engine.schema import ForeignKey, Schema, Table
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2

DEFAULT_PARALLEL_TABLES = 4
DEFAULT_SPLIT_TABLE_ROWS = 1_000_000


def split_parts(table: sync_pb2.TablePlan, split_table_rows: int, max_parallel: int) -> int:
    """Key ranges to copy `table` in: one per split_table_rows rows begun, at most
    max_parallel; a table without a primary key, or synthesized, is copied whole."""
    if not table.primary_key or table.HasField("synthesize"):
        return 1
    per_part = split_table_rows or DEFAULT_SPLIT_TABLE_ROWS
    return max(1, min(-(-table.estimated_rows // per_part), max_parallel))


def build_plan(
    job: job_pb2.Job,
    schema: Schema,
    source_connection_id: str,
    destinations: list[sync_pb2.DestinationPlan],
) -> sync_pb2.SyncPlan:
    schema = with_virtual_foreign_keys(schema, job.source.virtual_foreign_keys)
    for i, destination in enumerate(job.destinations):
        _check_remapping(schema, destination, f"job.destinations[{i}]")
    mappings = resolve_mappings(job, schema)
    steps = plan_tables(schema.tables.values())
    wheres = {}
    for i, subset in enumerate(job.source.subsets):
        field = f"job.source.subsets[{i}]"
        table = _resolve(schema, subset.table, f"{field}.table")
        wheres[table.qualified] = parse_where(table, subset.where, schema.engine, f"{field}.where")
    subsetter = (
        Subsetter(steps, wheres, job.source.subset_by_foreign_keys, schema.engine)
        if wheres
        else None
    )
    synthesized = synthesize_plans(job, schema)
    plan = sync_pb2.SyncPlan(
        source_connection_id=source_connection_id,
        destinations=destinations,
        max_parallel_tables=job.max_parallel_tables or DEFAULT_PARALLEL_TABLES,
        has_hooks=bool(job.hooks),
    )
    for step in steps:
        table = step.table
        planned = table_plan(step, mappings.get(table.qualified))
        if subsetter:
            planned.where = subsetter.where(table.qualified)
            planned.deferred_values.update(subsetter.deferred_values(table.qualified))
        if table.qualified in synthesized:
            planned.synthesize.CopyFrom(synthesized[table.qualified])
        planned.references.extend(
            reference(fk)
            for fk in table.foreign_keys
            if not set(fk.columns) & set(step.deferred_columns)
        )
        plan.tables.append(planned)
    return plan


def _resolve(schema: Schema, name: str, field: str) -> Table:
    table = schema.resolve(name)
    if table is None:
        raise InvalidArgumentError(field, f"table {name!r} does not exist in the source")
    return table


def with_virtual_foreign_keys(
    schema: Schema, declared: Iterable[job_pb2.VirtualForeignKey]
) -> Schema:
    """The schema with the job's declared foreign keys added to their tables."""
    tables = dict(schema.tables)
    for i, vfk in enumerate(declared):
        field = f"job.source.virtual_foreign_keys[{i}]"
        child = _resolve(schema, vfk.table, f"{field}.table")
        parent = _resolve(schema, vfk.references_table, f"{field}.references_table")
        if not vfk.columns or len(vfk.columns) != len(vfk.references_columns):
            raise InvalidArgumentError(
                f"{field}.columns", "name as many columns as references_columns, at least one"
            )
        for name, table, where in (
            *((c, child, "columns") for c in vfk.columns),
            *((c, parent, "references_columns") for c in vfk.references_columns),
        ):
            if table.column(name) is None:
                raise InvalidArgumentError(
                    f"{field}.{where}", f"column {name!r} does not exist in {table.qualified}"
                )
        fk = ForeignKey(
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


def _check_remapping(schema: Schema, destination: job_pb2.JobDestination, field: str) -> None:
    sources = {t.schema for t in schema.tables.values()}
    for name in destination.schema_map:
        if name not in sources:
            raise InvalidArgumentError(
                f"{field}.schema_map[{name}]", f"the source has no schema {name!r}"
            )
    targets: dict[str, str] = {}
    for name, target in destination.table_map.items():
        where = f"{field}.table_map[{name}]"
        table = _resolve(schema, name, where)
        target_schema, _, target_table = target.partition(".")
        if not (target_schema and target_table):
            raise InvalidArgumentError(where, f"{target!r} is not a schema-qualified table name")
        if target in targets:
            raise InvalidArgumentError(
                where, f"{table.qualified} and {targets[target]} both land in {target}"
            )
        targets[target] = table.qualified
