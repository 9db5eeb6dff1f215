"""A job and its source schema to the plan a run follows."""

from services.common.errors import InvalidArgumentError
from services.engine.planning.load_order import plan_tables
from services.engine.planning.rules import resolve_mappings
from services.engine.planning.subset import Subsetter
from services.engine.planning.synthesize import synthesize_plans
from services.engine.planning.table_plans import reference, resolve_table, table_plan
from services.engine.planning.virtual_keys import with_virtual_foreign_keys
from services.engine.planning.where_clause import parse_where
from services.engine.privacy import quasi_identifiers
from services.engine.schema import Schema
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2

DEFAULT_PARALLEL_TABLES = 4
DEFAULT_SPLIT_TABLE_ROWS = 1_000_000


def split_parts(table: sync_pb2.TablePlan, split_table_rows: int, max_parallel: int) -> int:
    """Key ranges to copy `table` in: one per split_table_rows rows begun, at most
    max_parallel; a table without a primary key, synthesized, or in a load group (written in
    one step with the rest of its group) is copied whole."""
    if not table.primary_key or table.HasField("synthesize") or table.load_group:
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
        table = resolve_table(schema, subset.table, f"{field}.table")
        wheres[table.qualified] = parse_where(table, subset.where, schema.engine, f"{field}.where")
    subsetter = (
        Subsetter(steps, wheres, job.source.subset_by_foreign_keys, schema.engine)
        if wheres
        else None
    )
    synthesized = synthesize_plans(job, schema)
    declared = quasi_identifiers.declared(job.privacy, schema)
    plan = sync_pb2.SyncPlan(
        source_connection_id=source_connection_id,
        destinations=destinations,
        max_parallel_tables=job.max_parallel_tables or DEFAULT_PARALLEL_TABLES,
        has_hooks=bool(job.hooks),
        privacy=job.privacy,
    )
    for step in steps:
        table = step.table
        planned = table_plan(step, mappings.get(table.qualified))
        if subsetter:
            planned.where = subsetter.where(table.qualified)
            planned.deferred_values.update(subsetter.deferred_values(table.qualified))
        if table.qualified in synthesized:
            if step.load_group:
                raise InvalidArgumentError(
                    "job.synthesize",
                    f"{table.qualified} is in a foreign-key cycle no nullable column breaks, "
                    "copied in one step with the other tables of the cycle: it cannot be "
                    "synthesized",
                )
            planned.synthesize.CopyFrom(synthesized[table.qualified])
        # A relaxed reference's row may be written later in the load group: never left out.
        planned.references.extend(
            reference(fk)
            for fk in table.foreign_keys
            if not set(fk.columns) & set(step.deferred_columns)
            and fk not in step.relaxed_foreign_keys
        )
        # Whatever the writers were told to check or to defer, the run verifies every
        # reference it wrote once the last row is in.
        planned.checked_references.extend(
            reference(fk) for fk in table.foreign_keys if fk.ref_qualified in schema.tables
        )
        planned.subset_root = table.qualified in wheres
        columns, planned.quasi_identifiers_declared = quasi_identifiers.of(table, declared)
        planned.quasi_identifiers.extend(columns)
        plan.tables.append(planned)
    return plan


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
        table = resolve_table(schema, name, where)
        target_schema, _, target_table = target.partition(".")
        if not (target_schema and target_table):
            raise InvalidArgumentError(where, f"{target!r} is not a schema-qualified table name")
        if target in targets:
            raise InvalidArgumentError(
                where, f"{table.qualified} and {targets[target]} both land in {target}"
            )
        targets[target] = table.qualified
