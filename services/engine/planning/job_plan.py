"""The one way from a stored job to its run's plan, for the API's check when a job is saved
and the workers' plan step alike: saved transformers resolved, connections looked up, the
schema read from the job's shape, and the sync or generate plan built from it."""

from dataclasses import dataclass
from typing import Protocol

from services.common.errors import InvalidArgumentError
from services.engine.connectors import open_database
from services.engine.connectors.base import Database
from services.engine.copy.init_schema_fit import check_init_schema
from services.engine.planning.drift import Snapshot, job_violations
from services.engine.planning.generate_plan import build_generate_plan
from services.engine.planning.rules import Kind, Violation, resolve_mappings
from services.engine.planning.saved_transformers import resolve_saved
from services.engine.planning.sync_plan import build_plan
from services.engine.planning.transformer_versions import (
    check_versions,
    generate_versions,
    sync_versions,
)
from services.engine.planning.virtual_keys import with_virtual_foreign_keys
from services.engine.schema import Schema, TypeFamily
from veilsync.temporal.v1 import generate_pb2, sync_pb2
from veilsync.v1 import job_pb2, transformer_pb2


class JobConnections(Protocol):
    """Where planning finds an account's connections and saved transformers (the metadata
    store, or a fake of it)."""

    def connection_id_by_name(self, account_id: str, name: str) -> str:
        """NotFoundError when the account has no connection of that name."""

    def connection_url(self, account_id: str, connection_id: str) -> str: ...

    def saved_transformer(
        self, account_id: str, name: str
    ) -> transformer_pb2.TransformerConfig | None: ...


@dataclass(frozen=True)
class JobShape:
    """A job ready to plan: what its plan is built from."""

    job: job_pb2.Job  # user-defined transformers replaced by their saved configs
    destinations: list[sync_pb2.DestinationPlan]
    shape_id: str  # the connection whose schema the job follows
    database: Database  # that connection's database
    schema: Schema
    destination_engines: tuple[str, ...] = ()  # each destination's engine, as Database.engine


def read_shape(job: job_pb2.Job, account_id: str, connections: JobConnections) -> JobShape:
    """Resolve the job's names and read the schema it follows: its source's, or for a
    generate job without a source, its first destination's. Saved transformers resolve here,
    each time a job is checked or a run plans; the stored job keeps their names, so runs
    follow later changes to the saved configs."""
    resolved = resolve_saved(job, lambda name: connections.saved_transformer(account_id, name))
    destinations = [
        sync_pb2.DestinationPlan(
            connection_id=connections.connection_id_by_name(account_id, d.connection),
            truncate_before_insert=d.truncate_before_insert,
            init_schema=d.init_schema,
            on_conflict=d.on_conflict,
            schema_map=d.schema_map,
            table_map=d.table_map,
            skip_foreign_key_violations=d.skip_foreign_key_violations,
            init_schema_views=d.init_schema_views,
        )
        for d in resolved.destinations
    ]
    # Engines come from the URLs alone: opening a Database connects to nothing.
    engines = tuple(
        open_database(connections.connection_url(account_id, d.connection_id)).engine
        for d in destinations
    )
    if resolved.source.connection:
        shape_id = connections.connection_id_by_name(account_id, resolved.source.connection)
    elif resolved.HasField("generate") and destinations:
        shape_id = destinations[0].connection_id
    else:
        raise InvalidArgumentError("job.source.connection", "is required")
    database = open_database(connections.connection_url(account_id, shape_id))
    return JobShape(resolved, destinations, shape_id, database, database.introspect(), engines)


def sync_plan(shape: JobShape) -> sync_pb2.SyncPlan:
    check_versions(shape.job.transformer_versions)
    plan = build_plan(shape.job, shape.schema, shape.shape_id, shape.destinations)
    _check_init_schema(shape, plan)
    return plan


def generate_plan(shape: JobShape) -> generate_pb2.GeneratePlan:
    check_versions(shape.job.transformer_versions)
    plan = build_generate_plan(
        shape.job,
        shape.schema,
        shape.shape_id,
        shape.destinations,
        learned=learned_ranges(shape),
    )
    _check_init_schema(shape, plan.sync)
    return plan


def learned_ranges(shape: JobShape) -> dict[str, dict[str, tuple[float, float]]]:
    """For a generate job with a source: its number columns' smallest and largest values, from
    the source's statistics (no row is read, no value other than these two is kept); by
    qualified table and column name. Nothing for a job that only has destinations."""
    if not shape.job.source.connection:
        return {}
    numbers = (TypeFamily.INTEGER, TypeFamily.NUMERIC)
    wanted = [
        (table.schema, table.name, column.name)
        for table in shape.schema.tables.values()
        for column in table.columns
        if column.family in numbers and column.generated is None
    ]
    learned: dict[str, dict[str, tuple[float, float]]] = {}
    for (schema, table, column), extent in shape.database.number_ranges(wanted).items():
        learned.setdefault(f"{schema}.{table}", {})[column] = extent
    return learned


def _check_init_schema(shape: JobShape, plan: sync_pb2.SyncPlan) -> None:
    if shape.destination_engines:  # a shape built by hand, without them, is not checked
        check_init_schema(plan, shape.schema, shape.destination_engines)


def check_plan(shape: JobShape) -> dict[str, int]:
    """InvalidArgumentError naming the first field that keeps the job from planning: the check
    a job passes before it is saved is the one its runs make. Returns the version of every
    transformer the planned runs apply (propagated keys, saved transformers and generators
    included): what the API records in the job."""
    if shape.job.HasField("generate"):
        return generate_versions(generate_plan(shape))
    return sync_versions(sync_plan(shape))


def effective_job(shape: JobShape) -> job_pb2.Job:
    """The job as its runs apply it: saved transformers replaced by their configs, and each
    key's transformer written out on every column that inherits it (tables the job does not
    map are appended, schema-qualified, in the schema's order). InvalidArgumentError names
    the first field that does not fit, as planning would."""
    schema = with_virtual_foreign_keys(shape.schema, shape.job.source.virtual_foreign_keys)
    applied = resolve_mappings(shape.job, schema)
    job = job_pb2.Job()
    job.CopyFrom(shape.job)
    for mapping in job.mappings:
        table = schema.resolve(mapping.table)
        if table is not None:  # always: resolve_mappings refuses unknown tables
            for name, config in applied.pop(table.qualified, {}).items():
                mapping.columns[name].CopyFrom(config)
    for name in schema.tables:
        if name in applied:
            job.mappings.add(table=name, columns=applied[name])
    return job


@dataclass
class JobReport:
    violations: list[Violation]
    versions: dict[str, int]  # of the transformers the job plans with; empty when it does not


def validation_report(shape: JobShape, saved: Snapshot | None) -> list[Violation]:
    """Every violation of the job's rules and every drift since `saved`; when the rules find
    no error, whatever else planning refuses (remapping, declared keys, subsets, generate
    settings), so a job reported valid is one that saves and plans."""
    return job_report(shape, saved).violations


def job_report(shape: JobShape, saved: Snapshot | None) -> JobReport:
    """validation_report's violations and, from the same planning, the transformer versions."""
    found = job_violations(shape.job, shape.schema, saved)
    versions: dict[str, int] = {}
    if not any(v.error for v in found):
        try:
            versions = check_plan(shape)
        except InvalidArgumentError as err:
            found.insert(0, Violation(Kind.INVALID_MAPPING, err.description, err.field))
    return JobReport(found, versions)
