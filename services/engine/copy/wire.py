"""Whether a table's rows travel in the databases' binary form (connectors.base.WireCopy):
between databases of one kind, when every column has the same portable type at both ends and
the columns transformers read, and the key checkpoints read, decode to text and back. Else
they travel as text, as always."""

from collections.abc import Collection, Sequence

from services.engine.connectors.base import Database, WireColumns, WireCopy
from veilsync.temporal.v1 import sync_pb2


def wire_columns(
    source: Database,
    targets: Sequence[tuple[Database, tuple[str, str]]],
    table: sync_pb2.TablePlan,
    columns: Sequence[str],
    decoded: Collection[str],
) -> WireColumns | None:
    """The columns' binary form for copying `table` to each (database, table name) of
    `targets`, the `decoded` ones as text; None when they cannot travel so."""
    if not isinstance(source, WireCopy) or not targets:
        return None
    wired = [(d, name) for d, name in targets if isinstance(d, WireCopy)]
    if len(wired) < len(targets) or any(d.wire_format != source.wire_format for d, _ in wired):
        return None
    types = source.wire_types(table.schema, table.name, columns)
    read_as_text = {*decoded, *table.primary_key}
    if types is None or not all(
        source.wire_decodes(t) for c, t in zip(columns, types, strict=True) if c in read_as_text
    ):
        return None
    if any(database.wire_types(*name, columns) != types for database, name in wired):
        return None
    return WireColumns(tuple(types), frozenset(decoded))
