"""Ports of the engine: what a source and a destination database must do."""

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import pyarrow as pa

from services.engine.schema import Schema, Table, View
from veilsync.v1 import job_pb2

BATCH_BYTES = 2 << 20  # source bytes per batch: bounds memory whatever the table's size
BATCH_ROWS = 20_000  # rows per batch where a driver hands over rows rather than bytes


@dataclass(frozen=True)
class WireColumns:
    """Columns travelling in the databases' own binary form (see `WireCopy`): `types` names
    each column's type, alike at both ends; the `decoded` ones (those a transformer reads)
    come as text (`pa.string()`), the others as the source's bytes (`pa.binary()`)."""

    types: Sequence[str]
    decoded: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ReadRequest:
    """Rows of `schema`.`table`, its `columns` in that order. Ordered by `key` when given,
    starting after the row whose key values (text form) are `after` and ending with the one
    whose key is `until`; only rows matching the SQL predicate `where`; a column named in
    `expressions` is read as that SQL expression."""

    schema: str
    table: str
    columns: Sequence[str]
    key: Sequence[str] = ()
    after: Sequence[str] | None = None
    until: Sequence[str] | None = None
    where: str = ""
    expressions: Mapping[str, str] = field(default_factory=dict)
    wire: WireColumns | None = None  # read in binary form (a WireCopy source only)


class TableWriter(Protocol):
    def write(self, batch: pa.RecordBatch) -> int:
        """Write one batch; returns the rows written."""

    def commit(self) -> None:
        """Make every row written so far durable; later writes start a new transaction."""

    def rows_skipped(self) -> int:
        """Rows left out so far because a reference would have dangled."""


@dataclass(frozen=True)
class Reference:
    """A foreign key as the destination names it: rows whose `columns` match no row of
    `table` (and are not NULL) are left out and counted instead of written."""

    columns: tuple[str, ...]
    table: tuple[str, str]  # schema, name
    referenced_columns: tuple[str, ...]


@dataclass(frozen=True)
class WriteRequest:
    """Rows to write into `schema`.`table`, their `columns` in that order. A row whose key
    (`key_columns`) exists already is handled as `on_conflict` says (unspecified: as
    ON_CONFLICT_ERROR, the table fails); a row whose `references` would dangle is left out and
    counted instead of written."""

    schema: str
    table: str
    columns: Sequence[str]
    key_columns: Sequence[str] = ()
    on_conflict: "job_pb2.OnConflict.ValueType" = job_pb2.ON_CONFLICT_UNSPECIFIED
    references: Sequence[Reference] = ()
    wire: WireColumns | None = None  # batches come in binary form (a WireCopy destination)


@dataclass(frozen=True)
class LoadGroup:
    """Tables written together, in this order, whose `relaxed` foreign keys (the referencing
    table, and the reference) may name rows written later in the group, as pg_restore loads a
    cycle no nullable column breaks: the destination checks them once the group is written.
    Destination names throughout."""

    tables: Sequence[tuple[str, str]]
    relaxed: Sequence[tuple[tuple[str, str], Reference]]


@dataclass(frozen=True)
class FillRequest:
    """Existing rows of `schema`.`table` to update: their `columns` get the values of the
    batches' rows whose `key_columns` match theirs."""

    schema: str
    table: str
    key_columns: Sequence[str]
    columns: Sequence[str]


@runtime_checkable
class PrivilegeCheck(Protocol):
    """A database that can say, before any write, which table privileges its role lacks."""

    # What merging rows into a table takes (ON_CONFLICT_NOTHING): every retried or resumed
    # copy merges, whatever the job's own on-conflict mode.
    merge_privileges: tuple[str, ...]

    def missing_privileges(
        self, tables: Sequence[tuple[str, str]], privileges: Sequence[str]
    ) -> list[tuple[str, str]]:
        """(privilege, "schema.table") pairs the connection's role does not hold."""


@runtime_checkable
class ViewCreation(Protocol):
    """A destination that can recreate a source's views after init_schema created the tables
    (init_schema_views; PostgreSQL from PostgreSQL)."""

    def create_views(
        self, views: Sequence[View], target: Callable[[str, str], tuple[str, str]]
    ) -> list[str]:
        """Create the views whose every relation this database holds under its source name
        (as `target` maps it), each after the views it reads; a view it cannot create is left
        out with a warning. Returns the qualified names created."""


@runtime_checkable
class ConnectionSharing(Protocol):
    """A database whose steps can share one connection: many small tables in a row pay for
    one connection, not one each."""

    def sharing_connection(self) -> AbstractContextManager[None]:
        """Within the block, a step finding the shared connection idle uses it (still
        committing its own work) and leaves it for the next; others open their own."""


@runtime_checkable
class CopyStream(Protocol):
    """A source that can hand over its bulk-export bytes unparsed, for tables with nothing to
    transform; writers with the same `copy_format` take them as they are."""

    copy_format: str

    def read_copy(self, request: ReadRequest) -> Iterator[bytes]:
        """The rows `request` reads, as bulk-export bytes."""


@runtime_checkable
class WireCopy(Protocol):
    """A database whose rows can travel between two of its kind in binary form, each value's
    bytes untouched unless a transformer reads it: no text to print or parse at either end.
    Only between databases with the same `wire_format`, and columns of the same types."""

    wire_format: str

    def wire_types(self, schema: str, table: str, columns: Sequence[str]) -> list[str] | None:
        """Each column's type, or None when some column's binary form is not portable to
        another database (a type of its own, such as an enum or a domain) or the table does
        not exist."""

    def wire_decodes(self, type_name: str) -> bool:
        """Whether values of this type can be decoded to text and encoded back."""

    def wire_text(self, type_name: str, value: bytes) -> str:
        """One value's bytes as text, as the database reads a literal back."""


@runtime_checkable
class CopyStreamWriter(Protocol):
    copy_format: str

    def write_copy(self, chunk: bytes) -> None:
        """Write bulk-export bytes of a `CopyStream` with the same format."""

    def rows_written(self) -> int:
        """Rows committed so far through write_copy, as the database counted them."""

    def commit(self) -> None: ...


@dataclass(frozen=True)
class GroupSizes:
    """A table's rows grouped by some columns' values (NULL counting as a value): what its
    k-anonymity over those columns is read from."""

    rows: int
    groups: int
    smallest: int  # the smallest group's size; 0 for an empty table
    unique_rows: int  # rows alone in their group


class Database(Protocol):
    engine: str  # "postgres", "sqlite"
    default_schema: str

    def version(self) -> str: ...

    def introspect(self) -> Schema: ...

    def read(self, request: ReadRequest) -> Iterator[pa.RecordBatch]:
        """The rows `request` reads, in batches of bounded size."""

    def count(self, schema: str, table: str, where: str = "") -> int: ...

    def dangling(self, schema: str, table: str, reference: Reference) -> int:
        """Rows of `schema`.`table` whose `reference` names no existing row (MATCH SIMPLE: a
        row with a NULL in the reference's columns does not count)."""

    def group_sizes(self, schema: str, table: str, columns: Sequence[str]) -> GroupSizes:
        """The rows of `schema`.`table` grouped by the values of `columns`, counted where
        they are: no row leaves the database."""

    def number_ranges(
        self, columns: Sequence[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], tuple[float, float]]:
        """The smallest and largest value of each (schema, table, column), where the database's
        own statistics know them without reading the table; columns they do not cover are left
        out (an engine keeping none returns nothing)."""

    def split_keys(
        self, schema: str, table: str, key: Sequence[str], rows: int, parts: int, where: str = ""
    ) -> list[list[str]]:
        """Keys (text form, ascending) cutting the `rows` rows (an estimate will do) matching
        `where` into `parts` ranges of about equal size, none of them empty."""

    def target_name(self, schema: str, table: str) -> tuple[str, str]:
        """Where a source table lands in this database."""

    def existing_tables(self) -> set[str]: ...

    def create_tables(self, tables: Sequence[Table], source_engine: str) -> list[str]:
        """Create the tables that do not exist yet, with keys; returns their qualified names."""

    def add_foreign_keys(self, tables: Sequence[Table]) -> list[str]:
        """After the data, for init_schema: the foreign keys of `tables` (named as in this
        database) that it lacks, between tables it holds, DEFERRABLE where marked and the
        engine has it. Adding one checks the rows: DataRejectedError names the constraint a
        row breaks. Returns the constraints added."""

    def truncate(self, tables: Sequence[tuple[str, str]]) -> None: ...

    def table_writer(self, request: WriteRequest) -> AbstractContextManager[TableWriter]:
        """A writer whose uncommitted rows commit when the context exits without error and
        roll back when it exits with one."""

    def fill_columns(self, request: FillRequest, batches: Iterator[pa.RecordBatch]) -> int:
        """Update `columns` of existing rows matched on `key_columns`; returns rows updated."""

    def relaxed_load_refusal(self, group: LoadGroup) -> str | None:
        """Why this database cannot take `group` with its relaxed foreign keys checked only at
        the end, naming the constraint and the fix; None when it can. Asked before any write."""

    def relaxed_load(self, group: LoadGroup) -> AbstractContextManager[None]:
        """Within the block, table writers write the group's tables without checking the
        relaxed foreign keys; when it ends they are checked, and a row that breaks one is a
        DataRejectedError naming the constraint. One transaction where the engine needs it."""

    def reset_sequences(self, tables: Sequence[tuple[str, str]]) -> list[str]:
        """Move each sequence feeding these tables past the largest value written."""
