"""Which source tables a destination still has to create, and under which names; which of
their foreign keys it still has to add after the data."""

import dataclasses
from collections.abc import Callable, Sequence

from services.engine.schema import ForeignKey, Schema, Table


def tables_to_create(
    tables: Sequence[Table],
    existing: set[str],
    target_name: Callable[[str, str], tuple[str, str]],
) -> list[tuple[Table, tuple[str, str]]]:
    """Each table whose target (schema, name), as `target_name` maps it, is not among the
    `existing` "schema.name"s, with that target; in the order of `tables`."""
    return [
        (t, target_name(t.schema, t.name))
        for t in tables
        if ".".join(target_name(t.schema, t.name)) not in existing
    ]


def foreign_keys_to_add(
    tables: Sequence[Table],
    present: Schema,
    target_name: Callable[[str, str], tuple[str, str]],
) -> list[tuple[tuple[str, str], ForeignKey]]:
    """Each foreign key of `tables` whose table and referenced table `present` holds (under
    the names `target_name` gives them), with that table's target, and the key's reference
    renamed; keys the table there has already (same columns, same referenced table and
    columns, whatever the name) are left out, so adding them again is a no-op."""
    found: list[tuple[tuple[str, str], ForeignKey]] = []
    for table in tables:
        target = target_name(table.schema, table.name)
        held = present.tables.get(".".join(target))
        if held is None:
            continue
        have = {_joins(fk) for fk in held.foreign_keys}
        for fk in table.foreign_keys:
            ref_schema, ref_table = target_name(fk.ref_schema, fk.ref_table)
            if f"{ref_schema}.{ref_table}" not in present.tables:
                continue  # the referenced table is not in this database
            fk = dataclasses.replace(fk, ref_schema=ref_schema, ref_table=ref_table)
            if _joins(fk) not in have:
                found.append((target, fk))
    return found


def _joins(fk: ForeignKey) -> tuple[object, ...]:
    return fk.columns, fk.ref_schema, fk.ref_table, fk.ref_columns
