"""Does each destination table fit the rows the plan will write? Checked before anything is
written, so a mismatch fails the run with nothing changed."""

import dataclasses
from collections.abc import Callable, Sequence

from services.common.errors import InvalidArgumentError
from services.engine.schema import Schema, Table
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


def renamed(tables: Sequence[Table], target: Callable[[str, str], tuple[str, str]]) -> list[Table]:
    """The tables as they are named in a destination, references, partitions and inheritance
    parents included, for init_schema."""
    out = []
    for table in tables:
        schema, name = target(table.schema, table.name)
        foreign_keys = []
        for fk in table.foreign_keys:
            ref_schema, ref_table = target(fk.ref_schema, fk.ref_table)
            foreign_keys.append(dataclasses.replace(fk, ref_schema=ref_schema, ref_table=ref_table))
        partitions = []
        for part in table.partitions:
            part_schema, part_name = target(part.schema, part.name)
            parent = target(*part.parent)
            partitions.append(
                dataclasses.replace(part, schema=part_schema, name=part_name, parent=parent)
            )
        out.append(
            dataclasses.replace(
                table,
                schema=schema,
                name=name,
                foreign_keys=tuple(foreign_keys),
                partitions=tuple(partitions),
                inherits=tuple(target(*parent) for parent in table.inherits),
            )
        )
    return out
