"""The steps around the copies: readying every destination before any row is written, and
finishing them after the last one."""

import dataclasses
from collections.abc import Sequence

from services.common.errors import InvalidArgumentError
from services.engine.connectors.base import Database, PrivilegeCheck, ViewCreation
from services.engine.copy.destination_fit import check_destination, renamed
from services.engine.copy.load_groups import check_relaxed_loads
from services.engine.copy.table_copy import Destination
from services.engine.schema import Table
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2


def prepare_destinations(
    source: Database, destinations: Sequence[Destination], plan: sync_pb2.SyncPlan
) -> list[list[str]]:
    """Check every destination, then create missing tables (init_schema; their foreign keys
    come after the data) and truncate; returns the tables created in each destination. A
    destination that does not fit fails before any change."""
    for index, destination in enumerate(destinations):
        existing = destination.database.introspect()
        check_destination(plan, index, existing, destination.target)
        _check_privileges(plan, index, destination)
        check_relaxed_loads(plan, index, destination)
    wanted = _init_schema_tables(source, destinations, plan)
    created: list[list[str]] = []
    for destination in destinations:
        database = destination.database
        created.append([])
        if destination.plan.init_schema:
            created[-1] = database.create_tables(renamed(wanted, destination.target), source.engine)
        if destination.plan.init_schema_views and isinstance(database, ViewCreation):
            # Planning refused init_schema_views wherever the destination cannot create views.
            database.create_views(source.introspect().views, destination.target)
        if destination.plan.truncate_before_insert:
            database.truncate([destination.target(t.schema, t.name) for t in plan.tables])
    return created


def _check_privileges(plan: sync_pb2.SyncPlan, index: int, destination: Destination) -> None:
    """The privileges this run will use on the destination's tables, those init_schema is
    about to create included (whether their creator may write them is the engine's to say: a
    PostgreSQL owner may, a MySQL account needs grants); a missing one fails before any
    change."""
    database = destination.database
    if not isinstance(database, PrivilegeCheck):
        return
    # A retried or resumed copy merges its rows, so a merge's privileges are always needed.
    needed = ["INSERT", *database.merge_privileges]
    if destination.plan.truncate_before_insert:
        needed.append("TRUNCATE")
    deferred = any(t.deferred_columns for t in plan.tables)
    if destination.plan.on_conflict == job_pb2.ON_CONFLICT_UPDATE or deferred:
        needed.append("UPDATE")
    needed = list(dict.fromkeys(needed))
    targets = [destination.target(t.schema, t.name) for t in plan.tables]
    if missing := database.missing_privileges(targets, needed):
        privilege, table = missing[0]
        raise InvalidArgumentError(
            f"job.destinations[{index}]",
            f"the destination's role lacks {privilege} on {table}"
            + (f" (and {len(missing) - 1} more grants)" if len(missing) > 1 else ""),
        )


def check_source_privileges(source: Database, plan: sync_pb2.SyncPlan) -> None:
    """SELECT on every table the run reads, before anything is written anywhere."""
    if not isinstance(source, PrivilegeCheck):
        return
    tables = [(t.schema, t.name) for t in plan.tables if not t.HasField("synthesize")]
    if missing := source.missing_privileges(tables, ["SELECT"]):
        raise InvalidArgumentError(
            "job.source", f"the source's role lacks SELECT on {missing[0][1]}"
        )


def _init_schema_tables(
    source: Database, destinations: Sequence[Destination], plan: sync_pb2.SyncPlan
) -> list[Table]:
    """The source's definitions of the plan's tables when a destination creates them, each
    relaxed foreign key marked deferrable: a later run into the same tables loads its cycle
    with it deferred."""
    if not any(d.plan.init_schema for d in destinations):
        return []
    tables = source.introspect().tables
    wanted = []
    for planned in plan.tables:
        table = tables[f"{planned.schema}.{planned.name}"]
        relaxed = {
            (tuple(r.columns), r.referenced_schema, r.referenced_table, tuple(r.referenced_columns))
            for r in planned.relaxed_references
        }
        keys = tuple(
            dataclasses.replace(
                fk,
                deferrable=fk.deferrable
                or (fk.columns, fk.ref_schema, fk.ref_table, fk.ref_columns) in relaxed,
            )
            for fk in table.foreign_keys
        )
        wanted.append(dataclasses.replace(table, foreign_keys=keys))
    return wanted


def finish_destinations(
    source: Database, destinations: Sequence[Destination], plan: sync_pb2.SyncPlan
) -> list[str]:
    """Add the foreign keys init_schema leaves until after the data (adding one checks the
    rows), then move sequences past the largest key written; returns the sequences reset."""
    wanted = _init_schema_tables(source, destinations, plan)
    reset: list[str] = []
    for destination in destinations:
        if destination.plan.init_schema:
            destination.database.add_foreign_keys(renamed(wanted, destination.target))
        reset += destination.database.reset_sequences(
            [destination.target(t.schema, t.name) for t in plan.tables]
        )
    return reset
