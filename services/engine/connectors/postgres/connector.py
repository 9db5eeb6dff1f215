"""PostgreSQL: catalog introspection, COPY reads and writes, DDL for init_schema."""

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import psycopg
import pyarrow as pa
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from services.common.driver_errors import scrub_driver_error
from services.common.errors import (
    DatabaseUnavailableError,
    DataRejectedError,
    FailedPreconditionError,
)
from services.engine.connectors.arrow_csv import read_csv_batches, to_csv
from services.engine.connectors.base import (
    BATCH_BYTES,
    FillRequest,
    GroupSizes,
    LoadGroup,
    ReadRequest,
    Reference,
    WriteRequest,
)
from services.engine.connectors.group_sizes import group_sizes_of, group_sizes_query
from services.engine.connectors.keyset import split_query
from services.engine.connectors.postgres import binary_copy, statistics
from services.engine.connectors.postgres.catalog import introspect
from services.engine.connectors.postgres.copy_read import copy_blocks
from services.engine.connectors.postgres.ddl import (
    create_table_statements,
    foreign_key_statements,
    quoted,
)
from services.engine.connectors.postgres.ddl_objects import create_views
from services.engine.connectors.postgres.deferral import defer, refusal, relaxed_constraints
from services.engine.connectors.postgres.objects import views
from services.engine.connectors.references import dangling_query, references_hold
from services.engine.connectors.select import select_query
from services.engine.connectors.targets import foreign_keys_to_add, tables_to_create
from services.engine.schema import Schema, Table, View
from veilsync.v1 import job_pb2

# Both ends speak the same text forms whatever the servers' own defaults are.
# Worth retrying: the connection went away or the server asked to try again. Any other error
# is the database refusing the rows or the statement, and a retry would fail the same way.
_TRANSIENT = (
    psycopg.errors.ConnectionException,
    psycopg.errors.OperatorIntervention,
    psycopg.errors.SerializationFailure,
    psycopg.errors.DeadlockDetected,
    psycopg.errors.LockNotAvailable,
    psycopg.errors.InsufficientResources,
)

# Sent in the startup packet: no extra round trip per connection.
# client_encoding: every end speaks UTF-8 to us, whatever its database's own encoding (the
# server converts), so a LATIN1 database's bytes are never read as UTF-8 or refused as such.
_SESSION = (
    "-c DateStyle=ISO,MDY -c IntervalStyle=postgres -c extra_float_digits=3 -c client_encoding=UTF8"
)


_STAGE = sql.Identifier("_veilsync_stage")

# An inheritance parent: read FROM ONLY it, since its children are tables of their own (a
# partitioned table, whose rows all live in its partitions, is read whole).
_INHERITANCE_PARENT = (
    "SELECT c.relkind = 'r' AND c.relhassubclass FROM pg_class c "
    "WHERE c.oid = to_regclass(format('%%I.%%I', %s::text, %s::text))"
)

# The sequences feeding each (schema, table) asked for, by column: identity and owned
# sequences, and any a column's default draws from (Sakila's are owned by nothing).
_SEQUENCES = """
SELECT s.schema, s.name, a.attname, format('%%I.%%I', sn.nspname, q.relname)
FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS s(schema, name, i)
JOIN pg_class t ON t.oid = to_regclass(format('%%I.%%I', s.schema, s.name))
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_class q ON q.relkind = 'S' AND q.oid IN (
    SELECT d.objid FROM pg_depend d
    WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
      AND d.refobjid = t.oid AND d.refobjsubid = a.attnum AND d.deptype IN ('a', 'i')
    UNION
    SELECT d.refobjid FROM pg_attrdef ad
    JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
     AND d.refclassid = 'pg_class'::regclass
    WHERE ad.adrelid = t.oid AND ad.adnum = a.attnum)
JOIN pg_namespace sn ON sn.oid = q.relnamespace
ORDER BY s.i, a.attnum
"""
COPY_FORMAT = "postgres-csv"  # what read_copy emits and write_copy takes


def _ident(schema: str, table: str) -> sql.Identifier:
    return sql.Identifier(schema, table)


def _names(columns: Sequence[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(c) for c in columns)


_QUOTED_VALUE = re.compile(r':\s*"(?:[^"]|"")*"\s*$')


def describe(err: psycopg.Error) -> str:
    """What the server refused, by constraint, table and column, without the values: its
    DETAIL and CONTEXT lines quote the offending row, which must not reach logs or history."""
    diag = err.diag
    message = _QUOTED_VALUE.sub("", diag.message_primary or type(err).__name__)
    where = [
        f"{label} {value}"
        for label, value in (
            ("table", diag.table_name),
            ("column", diag.column_name),
            ("constraint", diag.constraint_name),
        )
        if value
    ]
    return f"{message} ({', '.join(where)})" if where else message


class _PgWriter:
    """COPY into the table (or a staging table when conflicts must be resolved), one
    transaction per chunk: `commit` ends the chunk's COPY and makes it durable. Within a load
    group (`commits` off) it only ends the chunk: the group's transaction commits once."""

    def __init__(
        self, conn: psycopg.Connection[Any], request: WriteRequest, commits: bool = True
    ) -> None:
        self._conn, self._target = conn, _ident(request.schema, request.table)
        self._commits = commits
        self._columns, self._key_columns = request.columns, request.key_columns
        self._on_conflict = request.on_conflict
        self._wire = request.wire
        self._keep = _references_hold(request.references)
        self._staged = bool(request.references) or request.on_conflict in (
            job_pb2.ON_CONFLICT_NOTHING,
            job_pb2.ON_CONFLICT_UPDATE,
        )
        self._skipped = 0
        self._chunk: ExitStack | None = None
        self._copy: psycopg.Copy | None = None
        self._copied = 0

    def _open(self, queued: bool = True) -> "psycopg.Copy":
        chunk = ExitStack()
        cur = chunk.enter_context(self._conn.cursor())
        # Runs once the COPY has ended and before the cursor closes: the server's row count.
        chunk.callback(self._count, cur)
        into: sql.Identifier = self._target
        if self._staged:
            # COPY cannot resolve conflicts: load a staging table, then INSERT ... ON CONFLICT.
            into = _STAGE
            cur.execute(
                sql.SQL(
                    "CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA"
                ).format(into, _names(self._columns), self._target)
            )
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT {})").format(
            into, _names(self._columns), sql.SQL("binary" if self._wire else "csv")
        )
        # The queued writer sends from its own thread while the next batch is transformed;
        # passing bytes through needs no such overlap, nor its thread.
        writer = QueuedLibpqWriter(cur) if queued else None
        self._copy = chunk.enter_context(cur.copy(statement, writer=writer))
        self._chunk = chunk
        return self._copy

    copy_format = COPY_FORMAT

    def write(self, batch: pa.RecordBatch) -> int:
        if self._wire is None:
            (self._copy or self._open()).write(to_csv(batch))
        else:
            opening = self._copy is None
            copy = self._copy or self._open()
            copy.write(binary_copy.encode(batch, self._wire, header=opening))
        return int(batch.num_rows)

    def write_copy(self, chunk: bytes) -> None:
        (self._copy or self._open(queued=False)).write(chunk)

    def rows_written(self) -> int:
        return self._copied

    def commit(self) -> None:
        if self._chunk is not None:
            if self._wire is not None and self._copy is not None:
                self._copy.write(binary_copy.TRAILER)
            self._chunk.close()  # ends the COPY: constraint errors surface here
            self._chunk = self._copy = None
            if self._staged:
                if self._keep is not None:
                    counted = self._conn.execute(
                        sql.SQL("SELECT count(*) FROM {} AS s WHERE NOT ({})").format(
                            _STAGE, self._keep
                        )
                    ).fetchone()
                    self._skipped += int(counted[0]) if counted else 0
                self._conn.execute(
                    _upsert(
                        self._target,
                        _STAGE,
                        self._columns,
                        self._key_columns,
                        self._on_conflict,
                        self._keep,
                    )
                )
                if not self._commits:  # ON COMMIT DROP would wait for the group's end
                    self._conn.execute(sql.SQL("DROP TABLE {}").format(_STAGE))
        if self._commits:
            self._conn.commit()

    def rows_skipped(self) -> int:
        return self._skipped

    def abort(self, error: BaseException) -> None:
        if self._chunk is not None:
            self._chunk.__exit__(type(error), error, error.__traceback__)
            self._chunk = self._copy = None

    def _count(self, cursor: "psycopg.Cursor[Any]") -> None:
        self._copied += max(cursor.rowcount, 0)


class PostgresDatabase:
    engine = "postgres"
    default_schema = "public"

    def __init__(self, url: str) -> None:
        self._url = url
        self._sharing = False
        self._idle: psycopg.Connection[Any] | None = None  # the shared one, when not in use
        self._lock = threading.Lock()
        self._parents: dict[tuple[str, str], bool] = {}  # inheritance parents, as found
        self._group: psycopg.Connection[Any] | None = None  # a load group's, while it loads

    @contextmanager
    def sharing_connection(self) -> Iterator[None]:
        self._sharing = True
        try:
            yield
        finally:
            with self._lock:
                self._sharing, idle, self._idle = False, self._idle, None
            if idle is not None:
                idle.close()

    def _open(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self._url, connect_timeout=10, options=_SESSION)
        except psycopg.OperationalError as err:
            raise DatabaseUnavailableError(scrub_driver_error(str(err))) from err

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection whose work commits on success; driver errors become domain errors.
        While sharing, the idle shared connection when there is one, kept after a clean end.
        While a load group loads, its connection, whose transaction commits when it ends."""
        if self._group is not None:
            with _translated(self._group):
                yield self._group
            return
        with self._lock:
            conn, self._idle = self._idle, None
        conn = conn or self._open()
        clean = False
        try:
            with _translated(conn):
                yield conn
                conn.commit()
            clean = True
        finally:
            with self._lock:
                keep = clean and self._sharing and self._idle is None
                if keep:
                    self._idle = conn
            if not keep:
                conn.close()  # an unfinished transaction rolls back with it

    def version(self) -> str:
        with self._connect() as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return f"PostgreSQL {row[0]}" if row else "PostgreSQL"

    def introspect(self) -> Schema:
        with self._connect() as conn:
            tables = introspect(conn)
            return Schema(tables, self.default_schema, self.engine, views=views(conn))

    def _only(self, conn: psycopg.Connection[Any], schema: str, table: str) -> bool:
        """Whether the table is an inheritance parent, to be read FROM ONLY."""
        if (schema, table) not in self._parents:
            row = conn.execute(_INHERITANCE_PARENT, (schema, table)).fetchone()
            if row is None or row[0] is None:
                return False  # no such table (yet): nothing to remember
            self._parents[(schema, table)] = bool(row[0])
        return self._parents[(schema, table)]

    def count(self, schema: str, table: str, where: str = "") -> int:
        with self._connect() as conn:
            only = sql.SQL("ONLY " if self._only(conn, schema, table) else "")
            query = sql.SQL("SELECT count(*) FROM {}{}").format(only, _ident(schema, table))
            if where:
                query += sql.SQL(" WHERE ") + sql.SQL(where)
            result = conn.execute(query).fetchone()
            return int(result[0]) if result else 0

    def dangling(self, schema: str, table: str, reference: Reference) -> int:
        query = dangling_query((schema, table), reference, quoted)
        with self._connect() as conn:
            # Without parameters: a % in a quoted name stays a %.
            result = conn.execute(sql.SQL(query)).fetchone()
            return int(result[0]) if result else 0

    def group_sizes(self, schema: str, table: str, columns: Sequence[str]) -> GroupSizes:
        with self._connect() as conn:
            # Without parameters: a % in a quoted name stays a %.
            query = sql.SQL(group_sizes_query((schema, table), columns, quoted))
            return group_sizes_of(conn.execute(query).fetchone())

    def number_ranges(
        self, columns: Sequence[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], tuple[float, float]]:
        with self._connect() as conn:
            return statistics.number_ranges(conn, columns)

    def read(self, request: ReadRequest) -> Iterator[pa.RecordBatch]:
        # Always the SELECT form: as fast as COPY of the table, and it reads a partitioned
        # table through its parent.
        with self._connect() as conn:
            statement, params = _copy_out(request, self._only(conn, request.schema, request.table))
            with conn.cursor() as cur, cur.copy(statement, params) as copy:
                blocks = copy_blocks(copy, BATCH_BYTES)
                if request.wire is None:
                    yield from read_csv_batches(blocks, request.columns, BATCH_BYTES)
                else:
                    yield from binary_copy.read_batches(
                        blocks, request.wire, request.columns, BATCH_BYTES
                    )

    wire_format = "postgres-binary"

    def wire_types(self, schema: str, table: str, columns: Sequence[str]) -> list[str] | None:
        if binary_copy.compiled() is None:
            return None
        with self._connect() as conn:
            return binary_copy.column_types(conn, schema, table, columns)

    def wire_decodes(self, type_name: str) -> bool:
        return binary_copy.decodes(type_name)

    def wire_text(self, type_name: str, value: bytes) -> str:
        return binary_copy.value_text(type_name, value)

    def split_keys(
        self, schema: str, table: str, key: Sequence[str], rows: int, parts: int, where: str = ""
    ) -> list[list[str]]:
        with self._connect() as conn:
            only = self._only(conn, schema, table)
            query = split_query(
                schema, table, key, quoted, "{}::text".format, rows, parts, where, only
            )
            return [[str(v) for v in row] for row in conn.execute(sql.SQL(query)).fetchall()]

    merge_privileges = ("TEMPORARY",)  # rows to merge wait in a temporary table

    def missing_privileges(
        self, tables: Sequence[tuple[str, str]], privileges: Sequence[str]
    ) -> list[tuple[str, str]]:
        # A table that does not exist yet is one init_schema creates: its owner may do anything.
        # TEMPORARY is the database's: writers stage rows in temporary tables. One query for
        # every pair, in the order asked.
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT p.privilege, s.schema || '.' || s.name "
                "FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS s(schema, name, i) "
                "CROSS JOIN unnest(%s::text[]) WITH ORDINALITY AS p(privilege, j) "
                "CROSS JOIN LATERAL to_regclass(format('%%I.%%I', s.schema, s.name)) AS t "
                "WHERE NOT CASE WHEN p.privilege = 'TEMPORARY' "
                "THEN has_database_privilege(current_database(), 'TEMPORARY') "
                "WHEN t IS NULL THEN true ELSE has_table_privilege(t, p.privilege) END "
                "ORDER BY s.i, p.j",
                ([t[0] for t in tables], [t[1] for t in tables], list(privileges)),
            ).fetchall()
        return [(str(privilege), str(table)) for privilege, table in rows]

    copy_format = COPY_FORMAT

    def read_copy(self, request: ReadRequest) -> Iterator[bytes]:
        with self._connect() as conn:
            statement, params = _copy_out(request, self._only(conn, request.schema, request.table))
            with conn.cursor() as cur, cur.copy(statement, params) as copy:
                yield from copy_blocks(copy, BATCH_BYTES)

    def target_name(self, schema: str, table: str) -> tuple[str, str]:
        return (self.default_schema if schema == "main" else schema), table

    def existing_tables(self) -> set[str]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT n.nspname || '.' || c.relname FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')"
            ).fetchall()
            return {r[0] for r in rows}

    def create_tables(self, tables: Sequence[Table], source_engine: str) -> list[str]:
        existing = self.existing_tables()
        targets = tables_to_create(tables, existing, self.target_name)
        if not targets:
            return []
        with self._connect() as conn:
            statements = create_table_statements(conn, targets, source_engine)
            for statement in statements:
                conn.execute(statement)
        return [f"{schema}.{name}" for _, (schema, name) in targets]

    def create_views(
        self, views: Sequence[View], target: Callable[[str, str], tuple[str, str]]
    ) -> list[str]:
        present = self.existing_tables()
        with self._connect() as conn:
            return create_views(conn, views, present, target)

    def add_foreign_keys(self, tables: Sequence[Table]) -> list[str]:
        keys = foreign_keys_to_add(tables, self.introspect(), self.target_name)
        if keys:
            with self._connect() as conn:
                for statement in foreign_key_statements(keys):
                    conn.execute(statement)
        return [f"{schema}.{table}.{fk.name}" for (schema, table), fk in keys]

    def relaxed_load_refusal(self, group: LoadGroup) -> str | None:
        with self._connect() as conn:
            return refusal(relaxed_constraints(conn, group), group)

    @contextmanager
    def relaxed_load(self, group: LoadGroup) -> Iterator[None]:
        # One transaction for the whole group, its relaxed constraints deferred: PostgreSQL
        # checks them when it commits, which a violation fails naming the constraint.
        with self._connect() as conn:
            constraints = relaxed_constraints(conn, group)
            if why := refusal(constraints, group):
                raise FailedPreconditionError(why)  # made NOT DEFERRABLE since the run began
            if statement := defer(constraints):
                conn.execute(statement)
            self._group = conn
            try:
                yield
            finally:
                self._group = None

    def truncate(self, tables: Sequence[tuple[str, str]]) -> None:
        existing = self.existing_tables()
        present = [t for t in tables if ".".join(t) in existing]
        if present:
            with self._connect() as conn:
                # An inheritance parent loses its own rows only: its children are tables of
                # their own, which a job may leave alone (ONLY cannot name a partitioned one).
                parents = {t for t in present if self._only(conn, *t)}
                for only, group in ((True, parents), (False, set(present) - parents)):
                    if group:
                        conn.execute(
                            sql.SQL("TRUNCATE {}{} CASCADE").format(
                                sql.SQL("ONLY " if only else ""),
                                sql.SQL(", ").join(_ident(s, t) for s, t in sorted(group)),
                            )
                        )

    @contextmanager
    def table_writer(self, request: WriteRequest) -> Iterator[_PgWriter]:
        with self._connect() as conn:
            writer = _PgWriter(conn, request, commits=self._group is None)
            try:
                yield writer
            except BaseException as err:
                writer.abort(err)
                raise
            writer.commit()

    def fill_columns(self, request: FillRequest, batches: Iterator[pa.RecordBatch]) -> int:
        key_columns, columns = request.key_columns, request.columns
        target, stage = _ident(request.schema, request.table), sql.Identifier("_veilsync_fill")
        every = [*key_columns, *columns]
        with self._connect() as conn, conn.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA"
                ).format(stage, _names(every), target)
            )
            with cur.copy(
                sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(stage, _names(every))
            ) as copy:
                for batch in batches:
                    copy.write(to_csv(batch))
            cur.execute(
                sql.SQL("UPDATE {} AS t SET {} FROM {} AS s WHERE {}").format(
                    target,
                    sql.SQL(", ").join(
                        sql.SQL("{} = s.{}").format(sql.Identifier(c), sql.Identifier(c))
                        for c in columns
                    ),
                    stage,
                    sql.SQL(" AND ").join(
                        sql.SQL("t.{} = s.{}").format(sql.Identifier(c), sql.Identifier(c))
                        for c in key_columns
                    ),
                )
            )
            return cur.rowcount

    def reset_sequences(self, tables: Sequence[tuple[str, str]]) -> list[str]:
        # A sequence several tables draw from (an inheritance parent's and its children's)
        # goes past the largest value of them all. Names travel as parameters: whatever they
        # hold, the server quotes them.
        following: dict[str, int] = {}
        with self._connect() as conn:
            found = conn.execute(
                _SEQUENCES, ([s for s, _ in tables], [t for _, t in tables])
            ).fetchall()
            for schema, table, column, sequence in found:
                row = conn.execute(
                    sql.SQL("SELECT COALESCE(max({}), 0) + 1 FROM {}").format(
                        sql.Identifier(column), _ident(schema, table)
                    )
                ).fetchone()
                value = int(row[0]) if row else 1
                following[sequence] = max(value, following.get(sequence, value))
            for sequence, value in following.items():
                conn.execute("SELECT setval(%s::regclass, %s, false)", (sequence, value))
        return list(following)


@contextmanager
def _translated(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """Driver errors as domain errors: worth a retry when the connection or server failed."""
    try:
        yield
    except psycopg.Error as err:
        if conn.broken or isinstance(err, _TRANSIENT):
            raise DatabaseUnavailableError(scrub_driver_error(str(err))) from err
        raise DataRejectedError(describe(err)) from err


def _copy_out(request: ReadRequest, only: bool) -> tuple[sql.Composed, list[str] | None]:
    """The COPY streaming what `request` reads (as CSV, or binary for `request.wire`), and its
    parameters."""
    query, params = select_query(request, quoted, "%s", only)
    form = sql.SQL("binary" if request.wire else "csv")
    # None, not []: without parameters the driver looks for no placeholders, so the query's
    # % stay its own.
    return sql.SQL("COPY ({}) TO STDOUT (FORMAT {})").format(sql.SQL(query), form), params or None


def _references_hold(references: Sequence[Reference]) -> sql.SQL | None:
    keep = references_hold(references, quoted)
    return None if keep is None else sql.SQL(keep)


def _upsert(
    target: sql.Composable,
    stage: sql.Composable,
    columns: Sequence[str],
    key_columns: Sequence[str],
    on_conflict: "job_pb2.OnConflict.ValueType",
    keep: sql.SQL | None = None,
) -> sql.Composed:
    # The copied keys are kept even in a GENERATED ALWAYS identity column, as COPY keeps them.
    insert = sql.SQL("INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE SELECT {} FROM {} AS s ").format(
        target, _names(columns), _names(columns), stage
    )
    if keep is not None:
        insert += sql.SQL("WHERE {} ").format(keep)
    if on_conflict not in (job_pb2.ON_CONFLICT_NOTHING, job_pb2.ON_CONFLICT_UPDATE):
        return insert  # a duplicate key fails the table, as a plain COPY would
    updates = [c for c in columns if c not in key_columns]
    if on_conflict == job_pb2.ON_CONFLICT_NOTHING or not key_columns or not updates:
        return insert + sql.SQL("ON CONFLICT DO NOTHING")
    return insert + sql.SQL("ON CONFLICT ({}) DO UPDATE SET {}").format(
        _names(key_columns),
        sql.SQL(", ").join(
            sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c))
            for c in updates
        ),
    )
