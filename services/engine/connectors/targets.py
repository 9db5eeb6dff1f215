"""Which source tables a destination still has to create, and under which names."""

from collections.abc import Callable, Sequence

from services.engine.schema import Table


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
