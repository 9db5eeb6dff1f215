"""PostgreSQL: catalog introspection, COPY reads and writes, DDL for init_schema."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import pyarrow as pa
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from services.common.errors import DatabaseUnavailableError, DataRejectedError
from services.common.logging import scrub
from services.sync_worker.engine.connectors.arrow_csv import read_csv_batches, to_csv
from services.sync_worker.engine.connectors.base import BATCH_BYTES
from services.sync_worker.engine.connectors.pg_catalog import introspect
from services.sync_worker.engine.connectors.pg_ddl import create_table_statements
from services.sync_worker.engine.schema import Schema, Table
from veilsync.v1 import job_pb2

# Both ends speak the same text forms whatever the servers' own defaults are.
_SESSION = "SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 3"


def _ident(schema: str, table: str) -> sql.Identifier:
    return sql.Identifier(schema, table)


def _names(columns: Sequence[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(c) for c in columns)


class _CopyWriter:
    def __init__(self, copy: "psycopg.Copy") -> None:
        self._copy = copy

    def write(self, batch: pa.RecordBatch) -> int:
        self._copy.write(to_csv(batch))
        return int(batch.num_rows)


class PostgresDatabase:
    engine = "postgres"
    default_schema = "public"

    def __init__(self, url: str) -> None:
        self._url = url

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection whose work commits on success; driver errors become domain errors."""
        try:
            conn = psycopg.connect(self._url, connect_timeout=10)
        except psycopg.OperationalError as err:
            raise DatabaseUnavailableError(scrub(str(err)).strip()) from err
        try:
            with conn:
                conn.execute(_SESSION)
                yield conn
        except (psycopg.IntegrityError, psycopg.DataError) as err:
            raise DataRejectedError(str(err).strip()) from err
        except psycopg.OperationalError as err:
            raise DatabaseUnavailableError(scrub(str(err)).strip()) from err

    def version(self) -> str:
        with self._connect() as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return f"PostgreSQL {row[0]}" if row else "PostgreSQL"

    def introspect(self) -> Schema:
        with self._connect() as conn:
            return Schema(tables=introspect(conn), default_schema=self.default_schema)

    def count(self, schema: str, table: str) -> int:
        with self._connect() as conn:
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(_ident(schema, table)))
            result = row.fetchone()
            return int(result[0]) if result else 0

    def read(self, schema: str, table: str, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        with self._connect() as conn, conn.cursor() as cur:
            statement = sql.SQL("COPY {} ({}) TO STDOUT (FORMAT csv)").format(
                _ident(schema, table), _names(columns)
            )
            with cur.copy(statement) as copy:
                yield from read_csv_batches(copy, columns, BATCH_BYTES)

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
        targets = [
            (t, self.target_name(t.schema, t.name))
            for t in tables
            if ".".join(self.target_name(t.schema, t.name)) not in existing
        ]
        if not targets:
            return []
        with self._connect() as conn:
            statements = create_table_statements(
                conn, targets, source_engine, existing, self.target_name
            )
            for statement in statements:
                conn.execute(statement)
        return [f"{schema}.{name}" for _, (schema, name) in targets]

    def truncate(self, tables: Sequence[tuple[str, str]]) -> None:
        existing = self.existing_tables()
        present = [t for t in tables if ".".join(t) in existing]
        if present:
            with self._connect() as conn:
                conn.execute(
                    sql.SQL("TRUNCATE {} CASCADE").format(
                        sql.SQL(", ").join(_ident(s, t) for s, t in present)
                    )
                )

    @contextmanager
    def table_writer(
        self,
        schema: str,
        table: str,
        columns: Sequence[str],
        key_columns: Sequence[str],
        on_conflict: "job_pb2.OnConflict.ValueType",
    ) -> Iterator[_CopyWriter]:
        target = _ident(schema, table)
        staged = on_conflict in (job_pb2.ON_CONFLICT_NOTHING, job_pb2.ON_CONFLICT_UPDATE)
        with self._connect() as conn, conn.cursor() as cur:
            into = target
            if staged:
                # COPY cannot resolve conflicts: load a staging table, then INSERT ... ON CONFLICT.
                into = sql.Identifier("_veilsync_stage")
                cur.execute(
                    sql.SQL(
                        "CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA"
                    ).format(into, _names(columns), target)
                )
            copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)")
            # The queued writer sends from its own thread while the next batch is transformed.
            writer = QueuedLibpqWriter(cur)
            with cur.copy(copy_sql.format(into, _names(columns)), writer=writer) as copy:
                yield _CopyWriter(copy)
            if staged:
                cur.execute(_upsert(target, into, columns, key_columns, on_conflict))

    def fill_columns(
        self,
        schema: str,
        table: str,
        key_columns: Sequence[str],
        columns: Sequence[str],
        batches: Iterator[pa.RecordBatch],
    ) -> int:
        target, stage = _ident(schema, table), sql.Identifier("_veilsync_fill")
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
        reset: list[str] = []
        with self._connect() as conn:
            for schema, table in tables:
                rows = conn.execute(
                    "SELECT a.attname, pg_get_serial_sequence(%s, a.attname) FROM pg_attribute a "
                    "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                    (f'"{schema}"."{table}"', f'"{schema}"."{table}"'),
                ).fetchall()
                for column, sequence in rows:
                    if sequence is None:
                        continue
                    conn.execute(
                        sql.SQL(
                            "SELECT setval(%s, COALESCE((SELECT max({}) FROM {}), 0) + 1, false)"
                        ).format(sql.Identifier(column), _ident(schema, table)),
                        (sequence,),
                    )
                    reset.append(sequence)
        return reset


def _upsert(
    target: sql.Composable,
    stage: sql.Composable,
    columns: Sequence[str],
    key_columns: Sequence[str],
    on_conflict: "job_pb2.OnConflict.ValueType",
) -> sql.Composed:
    insert = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ").format(
        target, _names(columns), _names(columns), stage
    )
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
