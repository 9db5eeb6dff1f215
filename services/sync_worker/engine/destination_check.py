"""Does each destination table fit the rows the plan will write? Checked before anything is
written, so a mismatch fails the run with nothing changed."""

from collections.abc import Callable

from services.common.errors import InvalidArgumentError
from services.sync_worker.engine.schema import Schema
from veilsync.temporal.v1 import sync_pb2


def check_destination(
    plan: sync_pb2.SyncPlan,
    index: int,
    existing: Schema,
    target_name: Callable[[str, str], tuple[str, str]],
) -> None:
    """InvalidArgumentError naming the destination, table and column of the first mismatch:
    a missing table (unless init_schema creates it), a column the source has and the
    destination lacks, or a required destination column the sync would leave empty."""
    field = f"job.destinations[{index}]"
    init_schema = plan.destinations[index].init_schema
    for table in plan.tables:
        schema, name = target_name(table.schema, table.name)
        target = existing.tables.get(f"{schema}.{name}")
        if target is None:
            if init_schema:
                continue
            raise InvalidArgumentError(
                field,
                f"table {schema}.{name} does not exist in the destination; create it or set "
                "init_schema",
            )
        written = {c.name for c in table.columns if not c.generated}
        have = {c.name for c in target.columns}
        if missing := [c.name for c in table.columns if c.name in written - have]:
            raise InvalidArgumentError(
                field, f"table {schema}.{name} in the destination has no column {missing[0]!r}"
            )
        for column in target.columns:
            filled_by_database = column.default is not None or column.identity or column.generated
            if not column.nullable and not filled_by_database and column.name not in written:
                raise InvalidArgumentError(
                    field,
                    f"column {schema}.{name}.{column.name} is NOT NULL without a default in "
                    "the destination, and the source has no such column",
                )
