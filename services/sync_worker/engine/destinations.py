"""The steps around the copies: readying every destination before any row is written, and
finishing them after the last one."""

from collections.abc import Sequence

from services.common.errors import InvalidArgumentError
from services.sync_worker.engine.connectors.base import Database
from services.sync_worker.engine.destination_check import check_destination, renamed
from services.sync_worker.engine.sync import Destination
from veilsync.temporal.v1 import sync_pb2


def prepare_destinations(
    source: Database, destinations: Sequence[Destination], plan: sync_pb2.SyncPlan
) -> list[str]:
    """Check every destination, then create missing tables (init_schema) and truncate;
    returns the tables created. A destination that does not fit fails before any change."""
    for index, destination in enumerate(destinations):
        if (
            destination.plan.skip_foreign_key_violations
            and destination.database.engine != "postgres"
        ):
            raise InvalidArgumentError(
                f"job.destinations[{index}].skip_foreign_key_violations",
                f"supported on PostgreSQL destinations, not {destination.database.engine}",
            )
        check_destination(plan, index, destination.database.introspect(), destination.target)
    wanted = [f"{t.schema}.{t.name}" for t in plan.tables]
    created: list[str] = []
    for destination in destinations:
        database = destination.database
        if destination.plan.init_schema:
            tables = source.introspect().tables
            created += database.create_tables(
                renamed([tables[n] for n in wanted], destination.target), source.engine
            )
        if destination.plan.truncate_before_insert:
            database.truncate([destination.target(t.schema, t.name) for t in plan.tables])
    return created


def finish_destinations(destinations: Sequence[Destination], plan: sync_pb2.SyncPlan) -> list[str]:
    """Move sequences past the largest key written; returns the sequences reset."""
    reset: list[str] = []
    for destination in destinations:
        reset += destination.database.reset_sequences(
            [destination.target(t.schema, t.name) for t in plan.tables]
        )
    return reset
