"""Load groups: the tables of a foreign-key cycle no nullable column breaks (planning.load_order)
are written in one step, each destination leaving the cycle's relaxed foreign keys unchecked
until the whole group is in, as pg_restore loads such a cycle."""

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager

from services.common.errors import InvalidArgumentError
from services.engine.connectors.base import LoadGroup
from services.engine.copy.table_copy import Destination, destination_reference
from veilsync.temporal.v1 import sync_pb2


def load_groups(tables: Sequence[sync_pb2.TablePlan]) -> list[list[sync_pb2.TablePlan]]:
    """The tables in their order, each alone or with the rest of its load group (a plan keeps
    a group's tables adjacent)."""
    groups: list[list[sync_pb2.TablePlan]] = []
    for table in tables:
        if groups and table.load_group and groups[-1][0].load_group == table.load_group:
            groups[-1].append(table)
        else:
            groups.append([table])
    return groups


def _load_group(destination: Destination, tables: Sequence[sync_pb2.TablePlan]) -> LoadGroup:
    return LoadGroup(
        tables=[destination.target(t.schema, t.name) for t in tables],
        relaxed=[
            (destination.target(t.schema, t.name), destination_reference(destination, ref))
            for t in tables
            for ref in t.relaxed_references
        ],
    )


def check_relaxed_loads(plan: sync_pb2.SyncPlan, index: int, destination: Destination) -> None:
    """InvalidArgumentError naming the constraint and its fix when the destination cannot
    take one of the plan's load groups; asked before anything is written."""
    for group in load_groups(plan.tables):
        if group[0].load_group:
            why = destination.database.relaxed_load_refusal(_load_group(destination, group))
            if why:
                raise InvalidArgumentError(f"job.destinations[{index}]", why)


@contextmanager
def relaxed_loads(
    destinations: Sequence[Destination], tables: Sequence[sync_pb2.TablePlan]
) -> Iterator[None]:
    """Every destination ready for `tables`, one of load_groups(): the tables written within
    the block are checked when it ends. Nothing to do for a table outside any group."""
    with ExitStack() as stack:
        if tables and tables[0].load_group:
            for destination in destinations:
                stack.enter_context(
                    destination.database.relaxed_load(_load_group(destination, tables))
                )
        yield
