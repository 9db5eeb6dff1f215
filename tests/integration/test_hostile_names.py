"""Names that break SQL built by hand (quotes of both kinds, backticks, spaces, unicode,
reserved words, a comment mark, a %) sync on every engine, and every key sequence is reset
afterwards: each connector quotes every identifier with its driver's or its own helper."""

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest
from psycopg import sql

from services.engine.connectors import open_database
from services.engine.connectors.base import ReadRequest
from tests.integration.mariadb import params
from tests.integration.shop import run_sync
from veilsync.v1 import job_pb2

SCHEMA = 'Sch "q" ñ'  # PostgreSQL only: elsewhere a connection has one schema
TABLE = 'Tab "le";--\''
KEY = "select"
COLUMNS = ("order", 'Col "q" ñ', "it's", "per%cent", "back`tick", "a\\b")
# A second table, a reserved word, whose key a sequence (serial, AUTO_INCREMENT, rowid) feeds:
# resetting the first table's sequence must not stop before it.
OTHER, OTHER_KEY = "order", "id"
DOMAIN, CHECK, INDEX = 'Dom "d";--', "Chk 'c' ñ", 'Idx "i" USING btree'  # PostgreSQL only
KEYS = (3, 7, 40)  # with gaps: a sequence must go past the largest, not the count
VALUES = ("plain", 'it\'s "quoted"', "back\\slash", "50% off", "ñ ü 漢字", "line\nbreak")


def _row(key: int) -> tuple[Any, ...]:
    return (key, *(f"{v} {key}" for v in VALUES))


class Engine:
    """One engine's way to create the hostile tables, insert a row without its key (the
    sequence chooses it) and name the tables in its databases."""

    name: str

    def __init__(self, make_url: Callable[[str], str]) -> None:
        self.make_url = make_url

    def schema(self, url: str) -> str:
        return open_database(url).default_schema

    def create(self, url: str) -> None:
        raise NotImplementedError

    def next_key(self, url: str, table: str, key: str, column: str) -> int:
        raise NotImplementedError


class Postgres(Engine):
    name = "postgres"

    def schema(self, url: str) -> str:
        return SCHEMA

    def create(self, url: str) -> None:
        # The first column's type is a domain, and the table has an index and a check, all
        # named as badly: init_schema recreates them too (an index name holding " USING ").
        text_columns = sql.SQL(", ").join(
            sql.SQL("{} {}").format(
                sql.Identifier(c), sql.Identifier(SCHEMA, DOMAIN) if i == 0 else sql.SQL("text")
            )
            for i, c in enumerate(COLUMNS)
        )
        table = sql.Identifier(SCHEMA, TABLE)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCHEMA)))
            conn.execute(
                sql.SQL("CREATE DOMAIN {} AS text CONSTRAINT {} CHECK (VALUE <> '')").format(
                    sql.Identifier(SCHEMA, DOMAIN), sql.Identifier(CHECK)
                )
            )
            conn.execute(
                sql.SQL(
                    "CREATE TABLE {} ({} int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, {}, "
                    "CONSTRAINT {} CHECK ({} <> 'x'))"
                ).format(
                    table,
                    sql.Identifier(KEY),
                    text_columns,
                    sql.Identifier(CHECK),
                    sql.Identifier(COLUMNS[1]),
                )
            )
            conn.execute(
                sql.SQL("CREATE INDEX {} ON {} USING hash ({})").format(
                    sql.Identifier(INDEX), table, sql.Identifier(COLUMNS[2])
                )
            )
            conn.execute(
                sql.SQL("CREATE TABLE {} ({} bigserial PRIMARY KEY, {} text)").format(
                    sql.Identifier(SCHEMA, OTHER), sql.Identifier(OTHER_KEY), sql.Identifier(KEY)
                )
            )
            with conn.cursor() as cur:
                cur.executemany(
                    sql.SQL("INSERT INTO {} OVERRIDING SYSTEM VALUE VALUES ({})").format(
                        sql.Identifier(SCHEMA, TABLE),
                        sql.SQL(", ").join(sql.Placeholder() * (len(COLUMNS) + 1)),
                    ),
                    [_row(k) for k in KEYS],
                )
                cur.executemany(
                    sql.SQL("INSERT INTO {} VALUES (%s, %s)").format(sql.Identifier(SCHEMA, OTHER)),
                    [(k, VALUES[1]) for k in KEYS],
                )

    def next_key(self, url: str, table: str, key: str, column: str) -> int:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                sql.SQL("INSERT INTO {} ({}) VALUES ('new') RETURNING {}").format(
                    sql.Identifier(SCHEMA, table), sql.Identifier(column), sql.Identifier(key)
                )
            ).fetchone()
        assert row is not None
        return int(row[0])


def _backticks(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class Mysql(Engine):
    name = "mysql"

    def create(self, url: str) -> None:
        with pymysql.connect(**params(url), autocommit=True) as conn, conn.cursor() as cur:
            columns = ", ".join(f"{_backticks(c)} TEXT" for c in COLUMNS)
            cur.execute(
                f"CREATE TABLE {_backticks(TABLE)} ({_backticks(KEY)} BIGINT AUTO_INCREMENT "
                f"PRIMARY KEY, {columns})"
            )
            cur.execute(
                f"CREATE TABLE {_backticks(OTHER)} ({_backticks(OTHER_KEY)} BIGINT AUTO_INCREMENT "
                f"PRIMARY KEY, {_backticks(KEY)} TEXT)"
            )
            places = ", ".join(["%s"] * (len(COLUMNS) + 1))
            cur.executemany(
                f"INSERT INTO {_backticks(TABLE)} VALUES ({places})", [_row(k) for k in KEYS]
            )
            cur.executemany(
                f"INSERT INTO {_backticks(OTHER)} VALUES (%s, %s)", [(k, VALUES[1]) for k in KEYS]
            )

    def next_key(self, url: str, table: str, key: str, column: str) -> int:
        with pymysql.connect(**params(url), autocommit=True) as conn, conn.cursor() as cur:
            cur.execute(f"INSERT INTO {_backticks(table)} ({_backticks(column)}) VALUES ('new')")
            return int(cur.lastrowid)


def _double_quotes(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Sqlite(Engine):
    name = "sqlite"

    def create(self, url: str) -> None:
        columns = ", ".join(f"{_double_quotes(c)} TEXT" for c in COLUMNS)
        with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
            conn.execute(
                f"CREATE TABLE {_double_quotes(TABLE)} ({_double_quotes(KEY)} INTEGER PRIMARY KEY "
                f"AUTOINCREMENT, {columns})"
            )
            conn.execute(
                f"CREATE TABLE {_double_quotes(OTHER)} ({_double_quotes(OTHER_KEY)} INTEGER "
                f"PRIMARY KEY, {_double_quotes(KEY)} TEXT)"
            )
            places = ", ".join(["?"] * (len(COLUMNS) + 1))
            conn.executemany(
                f"INSERT INTO {_double_quotes(TABLE)} VALUES ({places})", [_row(k) for k in KEYS]
            )
            conn.executemany(
                f"INSERT INTO {_double_quotes(OTHER)} VALUES (?, ?)", [(k, VALUES[1]) for k in KEYS]
            )

    def next_key(self, url: str, table: str, key: str, column: str) -> int:
        with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
            cursor = conn.execute(
                f"INSERT INTO {_double_quotes(table)} ({_double_quotes(column)}) VALUES ('new')"
            )
            return int(cursor.lastrowid or 0)


@pytest.fixture
def engines(
    pg_database: Callable[[str], str], mysql_database: Callable[[str], str], tmp_path: Path
) -> dict[str, Engine]:
    def sqlite_file(label: str) -> str:
        path = tmp_path / f"{label}.db"
        sqlite3.connect(path).close()  # an empty database, as the others start
        return f"sqlite://{path}"

    return {
        "postgres": Postgres(pg_database),
        "mysql": Mysql(mysql_database),
        "sqlite": Sqlite(sqlite_file),
    }


def _read(url: str, schema: str, table: str, columns: Sequence[str], key: str) -> list[Any]:
    """The rows, each value in text form: engines read keys as numbers or as text."""
    request = ReadRequest(schema, table, columns, key=[key])
    return [
        {name: None if value is None else str(value) for name, value in row.items()}
        for batch in open_database(url).read(request)
        for row in batch.to_pylist()
    ]


@pytest.mark.parametrize(
    ("source_engine", "destination_engine"),
    [
        ("postgres", "postgres"),
        ("mysql", "mysql"),
        ("sqlite", "sqlite"),
        ("postgres", "mysql"),
        ("postgres", "sqlite"),
    ],
)
@pytest.mark.parametrize(
    "on_conflict", [job_pb2.ON_CONFLICT_UNSPECIFIED, job_pb2.ON_CONFLICT_NOTHING]
)
def test_hostile_names_sync_and_their_sequences_are_reset(
    engines: dict[str, Engine],
    source_engine: str,
    destination_engine: str,
    on_conflict: "job_pb2.OnConflict.ValueType",
) -> None:
    source, destination = engines[source_engine], engines[destination_engine]
    source_url, destination_url = source.make_url("src"), destination.make_url("dst")
    source.create(source_url)
    options = job_pb2.JobDestination(
        init_schema=True, truncate_before_insert=True, on_conflict=on_conflict
    )
    # A staged merge (ON_CONFLICT_NOTHING) puts the names through other statements than COPY.
    run_sync(source_url, destination_url, job_pb2.Job(name="hostile"), options)
    copied_to = destination.schema(destination_url)
    for table, columns, key in (
        (TABLE, (KEY, *COLUMNS), KEY),
        (OTHER, (OTHER_KEY, KEY), OTHER_KEY),
    ):
        before = _read(source_url, source.schema(source_url), table, columns, key)
        assert before and _read(destination_url, copied_to, table, columns, key) == before
        assert destination.next_key(destination_url, table, key, columns[1]) == max(KEYS) + 1
    if source_engine == destination_engine == "postgres":
        assert _objects(destination_url) == _objects(source_url)


def _objects(url: str) -> list[tuple[Any, ...]]:
    """Index and check definitions in the hostile schema, and its domains."""
    query = """
        SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        WHERE c.relnamespace = to_regnamespace(%(s)s)
        UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
        WHERE connamespace = to_regnamespace(%(s)s) AND contype = 'c'
        UNION ALL SELECT typname FROM pg_type WHERE typnamespace = to_regnamespace(%(s)s)
          AND typtype = 'd'
        ORDER BY 1"""
    with psycopg.connect(url) as conn:
        found = conn.execute(query, {"s": sql.Identifier(SCHEMA).as_string(conn)}).fetchall()
    assert len(found) == 6  # two keys' indexes, the hash index, two checks, the domain
    return found
