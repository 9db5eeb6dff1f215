"""SQLite files: the embedded default's source and destination."""

import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from urllib.parse import urlsplit

import pyarrow as pa

from services.common.driver_errors import scrub_driver_error
from services.common.errors import DatabaseUnavailableError, DataRejectedError
from services.engine.connectors.base import (
    BATCH_ROWS,
    FillRequest,
    GroupSizes,
    LoadGroup,
    ReadRequest,
    Reference,
    WriteRequest,
)
from services.engine.connectors.group_sizes import group_sizes_of, group_sizes_query
from services.engine.connectors.key_checks import check_keys, declared_keys
from services.engine.connectors.keyset import split_query
from services.engine.connectors.references import dangling_query, references_hold
from services.engine.connectors.select import select_query
from services.engine.connectors.sqlite.access import may_open
from services.engine.connectors.targets import tables_to_create
from services.engine.schema import Column, ForeignKey, Schema, Table, TypeFamily
from veilsync.v1 import job_pb2

_LENGTH = re.compile(r"\((\d+)\)")
_STAGE = "_veilsync_stage"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _family(declared: str) -> TypeFamily:
    """SQLite's affinity rules (https://sqlite.org/datatype3.html), refined a little."""
    t = declared.upper()
    if "INT" in t:
        return TypeFamily.INTEGER
    if any(s in t for s in ("CHAR", "CLOB", "TEXT")):
        return TypeFamily.TEXT
    if "BLOB" in t:
        return TypeFamily.BINARY
    if any(s in t for s in ("DATE", "TIME")):
        return TypeFamily.TEMPORAL
    if "BOOL" in t:
        return TypeFamily.BOOLEAN
    if any(s in t for s in ("REAL", "FLOA", "DOUB", "NUM", "DEC")):
        return TypeFamily.NUMERIC
    return TypeFamily.TEXT if not t else TypeFamily.OTHER


_DECLARED = {
    TypeFamily.TEXT: "TEXT",
    TypeFamily.INTEGER: "INTEGER",
    TypeFamily.NUMERIC: "NUMERIC",
    TypeFamily.BOOLEAN: "BOOLEAN",
    TypeFamily.TEMPORAL: "TEXT",
    TypeFamily.BINARY: "BLOB",
    TypeFamily.JSON: "TEXT",
    TypeFamily.UUID: "TEXT",
    TypeFamily.OTHER: "TEXT",
}


def _arrow_column(values: list[object]) -> pa.Array:
    """SQLite is dynamically typed: a column mixing types travels as text."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


class SqliteDatabase:
    engine = "sqlite"
    default_schema = "main"

    def __init__(self, url: str) -> None:
        # sqlite:///abs/path and SQLAlchemy's sqlite:////abs/path both name /abs/path.
        self._path = "/" + urlsplit(url).path.lstrip("/")

    @contextmanager
    def _connect(self, must_exist: bool = True) -> Iterator[sqlite3.Connection]:
        uri = f"file:{self._path}?mode={'rw' if must_exist else 'rwc'}"
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=30)
        except sqlite3.OperationalError as err:
            raise DatabaseUnavailableError(f"cannot open SQLite file {self._path}: {err}") from err
        try:
            with closing(conn), conn:
                yield conn
        except sqlite3.IntegrityError as err:
            raise DataRejectedError(scrub_driver_error(str(err))) from err

    def version(self) -> str:
        with self._connect() as conn:
            return f"SQLite {conn.execute('SELECT sqlite_version()').fetchone()[0]}"

    def introspect(self) -> Schema:
        with self._connect() as conn:
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
                )
            ]
            tables = [self._table(conn, name) for name in names]
        return Schema({t.qualified: t for t in tables}, self.default_schema, self.engine)

    merge_privileges = ("TEMPORARY",)  # rows to merge wait in a temporary table

    def missing_privileges(
        self, tables: Sequence[tuple[str, str]], privileges: Sequence[str]
    ) -> list[tuple[str, str]]:
        # Every privilege but SELECT writes the file.
        allowed = {write: may_open(self._path, write) for write in (False, True)}
        return [
            (privilege, f"{schema}.{table}")
            for schema, table in tables
            for privilege in privileges
            if not allowed[privilege != "SELECT"]
        ]

    def _table(self, conn: sqlite3.Connection, name: str) -> Table:
        info = conn.execute(f"PRAGMA table_xinfo({_quote(name)})").fetchall()
        columns = []
        for _cid, col, declared, notnull, default, _pk, hidden in info:
            if hidden == 1:
                continue  # virtual-table hidden column
            match = _LENGTH.search(declared or "")
            columns.append(
                Column(
                    name=col,
                    data_type=declared or "",
                    family=_family(declared or ""),
                    nullable=not notnull,
                    default=default,
                    max_length=int(match.group(1))
                    if match and "CHAR" in declared.upper()
                    else None,
                    generated="(generated)" if hidden in (2, 3) else None,
                )
            )
        primary = tuple(r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5]))
        unique = []
        for _seq, index, is_unique, origin, _partial in conn.execute(
            f"PRAGMA index_list({_quote(name)})"
        ):
            if is_unique and origin == "u":
                cols = conn.execute(f"PRAGMA index_info({_quote(index)})").fetchall()
                unique.append(tuple(c[2] for c in cols))
        groups: dict[int, list[tuple[str, str, str]]] = {}
        for row in conn.execute(f"PRAGMA foreign_key_list({_quote(name)})"):
            groups.setdefault(row[0], []).append((row[2], row[3], row[4]))
        foreign = tuple(
            ForeignKey(
                name=f"{name}_fk{fid}",
                columns=tuple(c for _, c, _ in refs),
                ref_schema=self.default_schema,
                ref_table=refs[0][0],
                ref_columns=tuple(r for _, _, r in refs),
            )
            for fid, refs in sorted(groups.items())
        )
        count = conn.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()[0]
        return Table(
            schema=self.default_schema,
            name=name,
            columns=tuple(columns),
            primary_key=primary,
            unique=tuple(unique),
            foreign_keys=foreign,
            estimated_rows=int(count),
        )

    def count(self, schema: str, table: str, where: str = "") -> int:
        query = f"SELECT count(*) FROM {_quote(schema)}.{_quote(table)}"
        with self._connect() as conn:
            row = conn.execute(query + (f" WHERE {where}" if where else "")).fetchone()
            return int(row[0])

    def dangling(self, schema: str, table: str, reference: Reference) -> int:
        with self._connect() as conn:
            query = dangling_query((schema, table), reference, _quote)
            return int(conn.execute(query).fetchone()[0])

    def group_sizes(self, schema: str, table: str, columns: Sequence[str]) -> GroupSizes:
        with self._connect() as conn:
            query = group_sizes_query((schema, table), columns, _quote)
            return group_sizes_of(conn.execute(query).fetchone())

    def number_ranges(
        self, columns: Sequence[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], tuple[float, float]]:
        # No planner statistics to read without scanning the tables: nothing is learned.
        return {}

    def split_keys(
        self, schema: str, table: str, key: Sequence[str], rows: int, parts: int, where: str = ""
    ) -> list[list[str]]:
        query = split_query(schema, table, key, _quote, str, rows, parts, where)
        with self._connect() as conn:
            return [[str(v) for v in row] for row in conn.execute(query).fetchall()]

    def read(self, request: ReadRequest) -> Iterator[pa.RecordBatch]:
        # Text parameters compare by the key columns' affinity, like the key itself.
        query, params = select_query(request, _quote, "?")
        with self._connect() as conn:
            cursor = conn.execute(query, params)
            while rows := cursor.fetchmany(BATCH_ROWS):
                arrays = [_arrow_column(list(values)) for values in zip(*rows, strict=True)]
                yield pa.record_batch(arrays, names=list(request.columns))

    def target_name(self, schema: str, table: str) -> tuple[str, str]:
        return self.default_schema, table

    def existing_tables(self) -> set[str]:
        with self._connect(must_exist=False) as conn:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            return {f"{self.default_schema}.{r[0]}" for r in rows}

    def create_tables(self, tables: Sequence[Table], source_engine: str) -> list[str]:
        existing = self.existing_tables()
        created = []
        with self._connect(must_exist=False) as conn:
            for table, (schema, name) in tables_to_create(tables, existing, self.target_name):
                conn.execute(self._create_sql(table, name, source_engine))
                created.append(f"{schema}.{name}")
        return created

    def _create_sql(self, table: Table, name: str, source_engine: str) -> str:
        parts = []
        for c in table.columns:
            declared = c.data_type if source_engine == "sqlite" else _DECLARED[c.family]
            parts.append(f"{_quote(c.name)} {declared}" + ("" if c.nullable else " NOT NULL"))
        if table.primary_key:
            parts.append(f"PRIMARY KEY ({', '.join(map(_quote, table.primary_key))})")
        parts += [f"UNIQUE ({', '.join(map(_quote, u))})" for u in table.unique]
        parts += [
            f"FOREIGN KEY ({', '.join(map(_quote, fk.columns))}) REFERENCES "
            f"{_quote(fk.ref_table)} ({', '.join(map(_quote, fk.ref_columns))})"
            for fk in table.foreign_keys
        ]
        return f"CREATE TABLE {_quote(name)} ({', '.join(parts)})"

    def add_foreign_keys(self, tables: Sequence[Table]) -> list[str]:
        # SQLite adds no constraint to a table: init_schema declared the keys with it. This
        # connector never turns foreign_keys on, so the load did not check them: here they are.
        targets = [self.target_name(t.schema, t.name) for t in tables]
        check_keys(self, declared_keys(self.introspect(), targets), "checked after the load")
        return []

    def relaxed_load_refusal(self, group: LoadGroup) -> str | None:
        return None

    @contextmanager
    def relaxed_load(self, group: LoadGroup) -> Iterator[None]:
        # With foreign_keys off (never turned on here) SQLite checks nothing as rows go in,
        # and defer_foreign_keys would change nothing: the keys are checked once all is in.
        yield
        check_keys(
            self,
            declared_keys(self.introspect(), group.tables),
            "written unchecked to load a foreign-key cycle",
        )

    def truncate(self, tables: Sequence[tuple[str, str]]) -> None:
        existing = self.existing_tables()
        with self._connect() as conn:
            for schema, table in reversed(tables):
                if f"{schema}.{table}" in existing:
                    conn.execute(f"DELETE FROM {_quote(table)}")

    @contextmanager
    def table_writer(self, request: WriteRequest) -> Iterator["_SqliteWriter"]:
        table, columns, key_columns = request.table, request.columns, request.key_columns
        on_conflict = request.on_conflict
        names = ", ".join(map(_quote, columns))
        values = f"VALUES ({', '.join('?' * len(columns))})"
        updates = [c for c in columns if c not in key_columns]
        conflict = ""
        if on_conflict == job_pb2.ON_CONFLICT_NOTHING or (
            on_conflict == job_pb2.ON_CONFLICT_UPDATE and not (key_columns and updates)
        ):
            conflict = " ON CONFLICT DO NOTHING"
        elif on_conflict == job_pb2.ON_CONFLICT_UPDATE:
            conflict = (
                f" ON CONFLICT ({', '.join(map(_quote, key_columns))}) DO UPDATE SET "
                + ", ".join(f"{_quote(c)} = excluded.{_quote(c)}" for c in updates)
            )
        keep = references_hold(request.references, _quote)
        with self._connect() as conn:
            if keep is None:
                insert = f"INSERT INTO {_quote(table)} ({names}) {values}{conflict}"
                writer = _SqliteWriter(conn, insert)
            else:
                # An untyped stage: values keep their form until the table's affinity applies.
                conn.execute(f"CREATE TEMP TABLE {_STAGE} ({names})")
                writer = _SqliteWriter(
                    conn,
                    f"INSERT INTO temp.{_STAGE} ({names}) {values}",
                    merge=f"INSERT INTO {_quote(table)} ({names}) SELECT {names} "
                    f"FROM temp.{_STAGE} AS s WHERE {keep}{conflict}",
                    left_out=f"SELECT count(*) FROM temp.{_STAGE} AS s WHERE NOT ({keep})",
                )
            yield writer
            writer.commit()

    def fill_columns(self, request: FillRequest, batches: Iterator[pa.RecordBatch]) -> int:
        key_columns, columns = request.key_columns, request.columns
        sets = ", ".join(f"{_quote(c)} = ?" for c in columns)
        where = " AND ".join(f"{_quote(c)} = ?" for c in key_columns)
        statement = f"UPDATE {_quote(request.table)} SET {sets} WHERE {where}"
        updated = 0
        with self._connect() as conn:
            for batch in batches:
                keys = [batch.column(c).to_pylist() for c in key_columns]
                values = [batch.column(c).to_pylist() for c in columns]
                cursor = conn.executemany(statement, zip(*values, *keys, strict=True))
                updated += cursor.rowcount
        return updated

    def reset_sequences(self, tables: Sequence[tuple[str, str]]) -> list[str]:
        return []  # SQLite's rowid and AUTOINCREMENT follow the largest key by themselves


class _SqliteWriter:
    """Inserts rows with `statement`; with `merge`, the statement fills the stage, which each
    commit merges into the table and empties, first counting the staged rows `left_out`
    selects (rows the merge leaves out)."""

    def rows_skipped(self) -> int:
        return self._skipped

    def __init__(
        self,
        conn: sqlite3.Connection,
        statement: str,
        merge: str | None = None,
        left_out: str | None = None,
    ) -> None:
        self._conn, self._statement = conn, statement
        self._merge, self._left_out, self._skipped = merge, left_out, 0

    def commit(self) -> None:
        if self._merge is not None:
            if self._left_out is not None:
                self._skipped += int(self._conn.execute(self._left_out).fetchone()[0])
            self._conn.execute(self._merge)
            self._conn.execute(f"DELETE FROM temp.{_STAGE}")
        self._conn.commit()

    def write(self, batch: pa.RecordBatch) -> int:
        columns = [column.to_pylist() for column in batch.columns]
        self._conn.executemany(self._statement, zip(*columns, strict=True))
        return int(batch.num_rows)
