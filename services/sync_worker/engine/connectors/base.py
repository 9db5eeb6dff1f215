"""Ports of the engine: what a source and a destination database must do."""

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

import pyarrow as pa

from services.sync_worker.engine.schema import Schema, Table
from veilsync.v1 import job_pb2

BATCH_BYTES = 4 << 20  # source bytes per batch: bounds memory whatever the table's size
BATCH_ROWS = 20_000  # rows per batch where a driver hands over rows rather than bytes


class TableWriter(Protocol):
    def write(self, batch: pa.RecordBatch) -> int:
        """Write one batch; returns the rows written."""


class Database(Protocol):
    engine: str  # "postgres", "sqlite"
    default_schema: str

    def version(self) -> str: ...

    def introspect(self) -> Schema: ...

    def read(self, schema: str, table: str, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        """The table's rows in batches of bounded size."""

    def count(self, schema: str, table: str) -> int: ...

    def target_name(self, schema: str, table: str) -> tuple[str, str]:
        """Where a source table lands in this database."""

    def existing_tables(self) -> set[str]: ...

    def create_tables(self, tables: Sequence[Table], source_engine: str) -> list[str]:
        """Create the tables that do not exist yet, with keys; returns their qualified names."""

    def truncate(self, tables: Sequence[tuple[str, str]]) -> None: ...

    def table_writer(
        self,
        schema: str,
        table: str,
        columns: Sequence[str],
        key_columns: Sequence[str],
        on_conflict: "job_pb2.OnConflict.ValueType",
    ) -> AbstractContextManager[TableWriter]:
        """A writer whose rows commit together when the context exits without error."""

    def fill_columns(
        self,
        schema: str,
        table: str,
        key_columns: Sequence[str],
        columns: Sequence[str],
        batches: Iterator[pa.RecordBatch],
    ) -> int:
        """Update `columns` of existing rows matched on `key_columns`; returns rows updated."""

    def reset_sequences(self, tables: Sequence[tuple[str, str]]) -> list[str]:
        """Move each sequence feeding these tables past the largest value written."""
