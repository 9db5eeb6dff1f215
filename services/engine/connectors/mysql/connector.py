"""MySQL and MariaDB: information_schema introspection, streamed reads, LOAD DATA writes.

Driver: PyMySQL. It is pure Python, so it installs anywhere without a compiler or client
headers (mysqlclient needs both; the binary connectors lag on new Pythons), it speaks to
MySQL and MariaDB alike, and it has what the fast paths need: unbuffered cursors and LOAD DATA
LOCAL. Its per-value decoding cost is kept small by reading text and casting in Arrow."""

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pymysql
import pymysql.converters
import pymysql.cursors
from pymysql.constants import CLIENT

from services.common.driver_errors import scrub_driver_error
from services.common.errors import (
    DatabaseUnavailableError,
    DataRejectedError,
    FailedPreconditionError,
    InvalidArgumentError,
)
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
from services.engine.connectors.mysql.arrow_text import (
    Target,
    load_data_rows,
    to_arrow,
    values_chunks,
    values_rows,
)
from services.engine.connectors.mysql.catalog import introspect
from services.engine.connectors.mysql.ddl import (
    create_table_statements,
    foreign_key_statements,
    names,
    quote,
)
from services.engine.connectors.mysql.grants import read_grants
from services.engine.connectors.references import dangling_query, references_hold
from services.engine.connectors.select import select_query
from services.engine.connectors.targets import foreign_keys_to_add, tables_to_create
from services.engine.schema import Schema, Table
from veilsync.v1 import job_pb2

Bulk = Literal["load", "insert"]

# UTC so TIMESTAMP columns read and write instants; strict so bad values fail instead of being
# clipped; NO_AUTO_VALUE_ON_ZERO so a copied key 0 stays 0; without NO_BACKSLASH_ESCAPES, which
# the INSERT encoding relies on. A slow consumer must not make the server drop a streamed read.
_SESSION = (
    "SET time_zone = '+00:00', net_write_timeout = 3600, sql_mode = "
    "'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO,ERROR_FOR_DIVISION_BY_ZERO'"
)

# Reads keep the server's text and leave typing to Arrow: no Python object per typed value.
_TEXT_ONLY: dict[Any, Any] = {
    k: v for k, v in pymysql.converters.conversions.items() if not isinstance(k, int)
}

# Server errors about the rows themselves: bad values, NULLs, keys, checks.
_DATA_ERRORS = {
    1048,
    1062,
    1216,
    1217,
    1264,
    1265,
    1292,
    1366,
    1367,
    1406,
    1411,
    1451,
    1452,
    1690,
    3819,
    4025,
}
# The account lacks a privilege: retrying cannot help.
_ACCESS_DENIED = {1044, 1045, 1142, 1143, 1227}
_STAGE = "_veilsync_stage"


def _translate(err: pymysql.MySQLError) -> Exception | None:
    code = err.args[0] if err.args and isinstance(err.args[0], int) else 0
    message = scrub_driver_error(str(err.args[1]) if len(err.args) > 1 else str(err))
    if isinstance(err, pymysql.IntegrityError | pymysql.DataError) or code in _DATA_ERRORS:
        return DataRejectedError(message)
    if code in _ACCESS_DENIED:
        return FailedPreconditionError(message)
    if isinstance(err, pymysql.OperationalError):
        return DatabaseUnavailableError(message)
    return None  # a programming error: ours to fix, not the user's


class MysqlDatabase:
    engine = "mysql"

    def __init__(self, url: str, bulk: Bulk | None = None) -> None:
        parts = urlsplit(url)
        database = unquote(parts.path.lstrip("/"))
        if not database:
            raise InvalidArgumentError("url", "a MySQL URL names its database: mysql://host/db")
        self._url = url
        self._params: dict[str, Any] = {
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 3306,
            "user": unquote(parts.username or "root"),
            "password": unquote(parts.password or ""),
            "database": database,
        }
        self.default_schema = database
        self._bulk = bulk  # None: LOAD DATA where the server allows it, else INSERT
        self._checks_off = False  # while a load group loads: sessions skip foreign-key checks

    @contextmanager
    def _connect(self, text_only: bool = False) -> Iterator["pymysql.connections.Connection[Any]"]:
        """A connection whose work commits on success; driver errors become domain errors."""
        try:
            conn = pymysql.connect(
                **self._params,
                charset="utf8mb4",
                connect_timeout=10,
                local_infile=True,
                client_flag=CLIENT.FOUND_ROWS,  # UPDATE counts matched rows, as PostgreSQL does
                conv=_TEXT_ONLY if text_only else None,
            )
        except pymysql.MySQLError as err:
            raise DatabaseUnavailableError(
                scrub_driver_error(f"{self._url.split('@')[-1]}: {err}")
            ) from err
        try:
            with conn.cursor() as cur:
                cur.execute(_SESSION + (", foreign_key_checks = 0" if self._checks_off else ""))
            yield conn
            conn.commit()
        except pymysql.MySQLError as err:
            domain = _translate(err)
            if domain is None:
                raise
            raise domain from err
        finally:
            if conn.open:
                conn.close()  # without a commit the server rolls back

    def _scalar(self, sql: str, args: Sequence[object] = ()) -> Any:
        with self._connect() as conn, conn.cursor() as cur:
            cur.execute(sql, args or None)  # without arguments a % in `sql` stays a %
            row = cur.fetchone()
            return row[0] if row else None

    def version(self) -> str:
        version = str(self._scalar("SELECT VERSION()"))
        return f"{'MariaDB' if 'mariadb' in version.lower() else 'MySQL'} {version}"

    def introspect(self) -> Schema:
        mariadb = "MariaDB" in self.version()
        with self._connect() as conn:
            tables = introspect(conn, self.default_schema, mariadb)
        return Schema(tables=tables, default_schema=self.default_schema, engine=self.engine)

    # A staged merge, then a no-op ON DUPLICATE KEY UPDATE.
    merge_privileges = ("TEMPORARY", "UPDATE")

    def missing_privileges(
        self, tables: Sequence[tuple[str, str]], privileges: Sequence[str]
    ) -> list[tuple[str, str]]:
        with self._connect() as conn, conn.cursor() as cur:
            return read_grants(cur).missing(tables, privileges)

    def count(self, schema: str, table: str, where: str = "") -> int:
        condition = f" WHERE {where}" if where else ""
        return int(self._scalar(f"SELECT COUNT(*) FROM {quote(schema)}.{quote(table)}{condition}"))

    def dangling(self, schema: str, table: str, reference: Reference) -> int:
        return int(self._scalar(dangling_query((schema, table), reference, quote)))

    def group_sizes(self, schema: str, table: str, columns: Sequence[str]) -> GroupSizes:
        with self._connect() as conn, conn.cursor() as cur:
            cur.execute(group_sizes_query((schema, table), columns, quote))  # no parameters
            return group_sizes_of(cur.fetchone())

    def number_ranges(
        self, columns: Sequence[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], tuple[float, float]]:
        # No planner statistics to read without scanning the tables: nothing is learned.
        return {}

    def split_keys(
        self, schema: str, table: str, key: Sequence[str], rows: int, parts: int, where: str = ""
    ) -> list[list[str]]:
        query = split_query(schema, table, key, quote, str, rows, parts, where)
        with self._connect(text_only=True) as conn, conn.cursor() as cur:
            cur.execute(query)  # no parameters: its % is the modulo, not a placeholder
            return [[str(v) for v in row] for row in cur.fetchall()]

    def _column_types(self, conn: Any, schema: str, table: str) -> dict[str, str]:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                (schema, table),
            )
            return {str(name): str(ctype) for name, ctype in cur.fetchall()}

    def read(self, request: ReadRequest) -> Iterator[pa.RecordBatch]:
        query, params = select_query(request, quote, "%s")
        with self._connect(text_only=True) as conn:
            types = self._column_types(conn, request.schema, request.table)
            # Unbuffered: rows stream from the server as fetched, never the whole table. It
            # is not closed on early exit, since closing drains the rest; the connection is.
            cur = conn.cursor(pymysql.cursors.SSCursor)
            cur.execute(query, params or None)
            while rows := cur.fetchmany(BATCH_ROWS):
                arrays = [
                    to_arrow(values, types.get(name, "text"))
                    for name, values in zip(request.columns, zip(*rows, strict=True), strict=True)
                ]
                yield pa.record_batch(arrays, names=list(request.columns))

    def target_name(self, schema: str, table: str) -> tuple[str, str]:
        return self.default_schema, table  # one database: every source schema lands in it

    def existing_tables(self) -> set[str]:
        with self._connect() as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT TABLE_NAME FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'",
                (self.default_schema,),
            )
            return {f"{self.default_schema}.{name}" for (name,) in cur.fetchall()}

    def create_tables(self, tables: Sequence[Table], source_engine: str) -> list[str]:
        existing = self.existing_tables()
        targets = tables_to_create(tables, existing, self.target_name)
        if not targets:
            return []
        statements = create_table_statements(targets, source_engine)
        with self._connect() as conn, conn.cursor() as cur:
            for statement in statements:
                try:
                    cur.execute(statement)
                except (pymysql.ProgrammingError, pymysql.InternalError) as err:
                    # e.g. a generated column whose expression MySQL cannot parse
                    raise InvalidArgumentError(
                        "job.destinations", f"MySQL refused {statement[:200]}: {err.args[-1]}"
                    ) from err
        return [f"{schema}.{name}" for _, (schema, name) in targets]

    def add_foreign_keys(self, tables: Sequence[Table]) -> list[str]:
        keys = foreign_keys_to_add(tables, self.introspect(), self.target_name)
        # Checked by query first, then added unchecked: an InnoDB table gains a checked key
        # only by being copied whole, once per key.
        check_keys(self, keys, "so the foreign key cannot be added")
        if keys:
            with self._connect() as conn, conn.cursor() as cur:
                cur.execute("SET foreign_key_checks = 0")
                for statement in foreign_key_statements(keys):
                    cur.execute(statement)
        return [f"{schema}.{table}.{fk.name[:64]}" for (schema, table), fk in keys]

    def relaxed_load_refusal(self, group: LoadGroup) -> str | None:
        return None  # foreign_key_checks is any session's to turn off

    @contextmanager
    def relaxed_load(self, group: LoadGroup) -> Iterator[None]:
        # MySQL cannot defer a foreign key: the group's writers skip every check, and a query
        # afterwards finds any row that a key of the group's tables would have refused.
        self._checks_off = True
        try:
            yield
        finally:
            self._checks_off = False
        check_keys(
            self,
            declared_keys(self.introspect(), group.tables),
            "written with foreign_key_checks off to load a foreign-key cycle",
        )

    def truncate(self, tables: Sequence[tuple[str, str]]) -> None:
        existing = self.existing_tables()
        # Names are mapped again (a no-op for this database's own) so source names work too.
        present = [
            self.target_name(*t) for t in tables if ".".join(self.target_name(*t)) in existing
        ]
        if not present:
            return
        with self._connect() as conn, conn.cursor() as cur:
            # TRUNCATE refuses a referenced table even when its children are emptied first.
            cur.execute("SET FOREIGN_KEY_CHECKS = 0")
            try:
                for schema, table in reversed(present):
                    cur.execute(f"TRUNCATE TABLE {quote(schema)}.{quote(table)}")
            finally:
                cur.execute("SET FOREIGN_KEY_CHECKS = 1")

    def _bulk_for(self, conn: Any) -> "_Bulk":
        bulk = self._bulk
        with conn.cursor() as cur:
            if bulk is None:
                cur.execute("SELECT @@local_infile")
                row = cur.fetchone()
                bulk = "load" if row and int(row[0]) else "insert"
            cur.execute("SELECT @@max_allowed_packet")
            packet = cur.fetchone()
        limit = min(int(packet[0]) - (64 << 10), 4 << 20) if packet else 1 << 20
        return _Bulk(conn, bulk, limit)

    @contextmanager
    def _stage(self, conn: Any, schema: str, table: str, columns: Sequence[str]) -> Iterator[str]:
        """A session-private empty copy of `columns`, with no keys to trip over."""
        with conn.cursor() as cur:
            cur.execute(f"DROP TEMPORARY TABLE IF EXISTS {_STAGE}")
            cur.execute(
                f"CREATE TEMPORARY TABLE {_STAGE} "
                f"SELECT {names(columns)} FROM {quote(schema)}.{quote(table)} LIMIT 0"
            )
            yield _STAGE
            cur.execute(f"DROP TEMPORARY TABLE {_STAGE}")

    @contextmanager
    def table_writer(self, request: WriteRequest) -> Iterator["_MysqlWriter"]:
        schema, table, columns = request.schema, request.table, request.columns
        on_conflict = request.on_conflict
        target = f"{quote(schema)}.{quote(table)}"
        keep = references_hold(request.references, quote)
        resolve = on_conflict in (job_pb2.ON_CONFLICT_NOTHING, job_pb2.ON_CONFLICT_UPDATE)
        with self._connect() as conn:
            types = self._column_types(conn, schema, table)
            targets = [Target(c, types.get(c, "text")) for c in columns]
            bulk = self._bulk_for(conn)
            if keep is None and not resolve:
                writer = _MysqlWriter(bulk, target, targets)
                yield writer
                writer.commit()
                return
            # Both bulk paths land in a keyless stage, then one INSERT ... SELECT resolves
            # conflicts and leaves out rows whose references would dangle: LOAD DATA LOCAL
            # would skip duplicates (and bad values) silently.
            updates = [c for c in columns if c not in request.key_columns]
            if not resolve:
                assignments = ""  # a duplicate key fails the table, as a direct load would
            elif on_conflict == job_pb2.ON_CONFLICT_NOTHING or not updates:
                # A no-op update: unlike INSERT IGNORE, it keeps strict value errors.
                assignments = f"{quote(columns[0])} = {target}.{quote(columns[0])}"
            else:
                assignments = ", ".join(f"{quote(c)} = VALUES({quote(c)})" for c in updates)
            with self._stage(conn, schema, table, columns) as stage:
                merge = (
                    f"INSERT INTO {target} ({names(columns)}) SELECT {names(columns)} "
                    f"FROM {stage} AS s"
                    + (f" WHERE {keep}" if keep else "")
                    + (f" ON DUPLICATE KEY UPDATE {assignments}" if assignments else "")
                )
                left_out = f"SELECT COUNT(*) FROM {stage} AS s WHERE NOT ({keep})" if keep else None
                writer = _MysqlWriter(bulk, stage, targets, merge, left_out)
                yield writer
                writer.commit()

    def fill_columns(self, request: FillRequest, batches: Iterator[pa.RecordBatch]) -> int:
        schema, table = request.schema, request.table
        key_columns, columns = request.key_columns, request.columns
        every = [*key_columns, *columns]
        with self._connect() as conn:
            types = self._column_types(conn, schema, table)
            bulk = self._bulk_for(conn)
            with self._stage(conn, schema, table, every) as stage, conn.cursor() as cur:
                writer = _MysqlWriter(bulk, stage, [Target(c, types.get(c, "text")) for c in every])
                for batch in batches:
                    writer.write(batch)
                sets = ", ".join(f"t.{quote(c)} = s.{quote(c)}" for c in columns)
                on = " AND ".join(f"t.{quote(c)} = s.{quote(c)}" for c in key_columns)
                return int(
                    cur.execute(
                        f"UPDATE {quote(schema)}.{quote(table)} t JOIN {stage} s ON {on} SET {sets}"
                    )
                )

    def reset_sequences(self, tables: Sequence[tuple[str, str]]) -> list[str]:
        reset: list[str] = []
        with self._connect() as conn, conn.cursor() as cur:
            for schema, table in (self.target_name(*t) for t in tables):
                cur.execute(
                    "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
                    "AND TABLE_NAME = %s AND EXTRA LIKE '%%auto_increment%%'",
                    (schema, table),
                )
                row = cur.fetchone()
                if row is None:
                    continue
                name = f"{quote(schema)}.{quote(table)}"
                cur.execute(f"SELECT COALESCE(MAX({quote(row[0])}), 0) + 1 FROM {name}")
                (following,) = cur.fetchone() or (1,)
                cur.execute(f"ALTER TABLE {name} AUTO_INCREMENT = {int(following)}")
                reset.append(f"{schema}.{table}.{row[0]}")
        return reset


class _Bulk:
    """The chosen bulk path on one connection."""

    def __init__(self, conn: Any, kind: Bulk, packet_limit: int) -> None:
        self.conn, self.kind, self.packet_limit = conn, kind, packet_limit


class _MysqlWriter:
    """Bulk writes into `into`; with `merge`, `into` is a stage that each commit merges into
    the table and empties, first counting the staged rows `left_out` selects (rows the merge
    leaves out)."""

    def rows_skipped(self) -> int:
        return self._skipped

    def __init__(
        self,
        bulk: _Bulk,
        into: str,
        targets: Sequence[Target],
        merge: str | None = None,
        left_out: str | None = None,
    ) -> None:
        self._bulk, self._into, self._targets, self._merge = bulk, into, targets, merge
        self._left_out, self._skipped = left_out, 0

    def commit(self) -> None:
        if self._merge is not None:
            with self._bulk.conn.cursor() as cur:
                if self._left_out is not None:
                    cur.execute(self._left_out)
                    self._skipped += int((cur.fetchone() or (0,))[0])
                cur.execute(self._merge)
                cur.execute(f"DELETE FROM {self._into}")
        self._bulk.conn.commit()

    def write(self, batch: pa.RecordBatch) -> int:
        if batch.num_rows == 0:
            return 0
        if self._bulk.kind == "load":
            return self._load(batch)
        rows = values_rows(batch, self._targets)
        written = 0
        with self._bulk.conn.cursor() as cur:
            for chunk in values_chunks(rows, self._bulk.packet_limit):
                head = (
                    f"INSERT INTO {self._into} ({names([t.name for t in self._targets])}) VALUES "
                )
                written += cur.execute(head.encode() + chunk)
        return written

    def _load(self, batch: pa.RecordBatch) -> int:
        data, hexes = load_data_rows(batch, self._targets)
        fields = [
            f"@h{i}" if hexed else quote(t.name)
            for i, (t, hexed) in enumerate(zip(self._targets, hexes, strict=True))
        ]
        sets = [
            f"{quote(t.name)} = UNHEX(@h{i})"
            for i, (t, hexed) in enumerate(zip(self._targets, hexes, strict=True))
            if hexed
        ]
        with _in_memory_file(data) as path, self._bulk.conn.cursor() as cur:
            # The file is binary so blob bytes pass unchanged; text columns read it as utf8mb4.
            # The path inlined, escaped by the driver: with parameters, a % in a column's
            # name would be taken for a placeholder.
            loaded = cur.execute(
                f"LOAD DATA LOCAL INFILE {self._bulk.conn.escape(path)} INTO TABLE {self._into} "
                f"CHARACTER SET binary ({', '.join(fields)})"
                + (f" SET {', '.join(sets)}" if sets else "")
            )
            if loaded != batch.num_rows or cur.warning_count:
                # LOCAL turns errors into warnings and skips the row: fail like INSERT would.
                cur.execute("SHOW WARNINGS LIMIT 3")
                reasons = "; ".join(scrub_driver_error(str(w[2])) for w in cur.fetchall())
                raise DataRejectedError(
                    f"{self._into}: {batch.num_rows - loaded} of {batch.num_rows} rows refused"
                    f" ({reasons or 'no reason given'})"
                )
        return int(loaded)


@contextmanager
def _in_memory_file(data: bytes) -> Iterator[str]:
    """A path the driver can open that reads `data`: an anonymous memory file on Linux."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("veilsync-load")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.NamedTemporaryFile(prefix="veilsync-load-") as spill:
        spill.write(data)
        spill.flush()
        yield spill.name
