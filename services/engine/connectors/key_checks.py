"""Foreign keys a database did not enforce while rows went in (MySQL with foreign_key_checks
off, SQLite with foreign_keys off), checked by query afterwards: what the constraint would have
refused fails the run, naming it, without quoting a row."""

from collections.abc import Iterable, Sequence

from services.common.errors import DataRejectedError
from services.engine.connectors.base import Database, Reference
from services.engine.schema import ForeignKey, Schema

Key = tuple[tuple[str, str], ForeignKey]  # (schema, table) and one of its foreign keys


def declared_keys(schema: Schema, tables: Sequence[tuple[str, str]]) -> list[Key]:
    """The foreign keys `schema` declares on `tables` (schema, name)."""
    return [
        (table, fk)
        for table in tables
        if (held := schema.tables.get(".".join(table))) is not None
        for fk in held.foreign_keys
    ]


def check_keys(database: Database, keys: Iterable[Key], context: str) -> None:
    """DataRejectedError naming the first key some row of `database` breaks; `context` says
    how such rows got in."""
    for table, fk in keys:
        reference = Reference(fk.columns, (fk.ref_schema, fk.ref_table), fk.ref_columns)
        if rows := database.dangling(*table, reference):
            raise DataRejectedError(
                f"{rows} rows of {'.'.join(table)} name no row of {fk.ref_qualified} through "
                f"foreign key {fk.name} ({', '.join(fk.columns)}), {context}"
            )
