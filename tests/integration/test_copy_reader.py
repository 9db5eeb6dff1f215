"""The compiled COPY reader against psycopg's own row loop, on real PostgreSQL: the same
bytes, blocks that end on row boundaries, the fallback, and errors and cancels mid-COPY."""

import itertools
import logging
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import cast

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.errors import DatabaseUnavailableError, DataRejectedError
from services.engine.connectors.base import ReadRequest
from services.engine.connectors.postgres import copy_read
from services.engine.connectors.postgres.connector import PostgresDatabase
from tests.integration.shop import execute, rows, run_sync, shop_job

READERS = ("compiled", "psycopg")

_TABLES = """
CREATE TABLE mixed (id bigint PRIMARY KEY, label text, n numeric, at timestamptz, doc jsonb,
                    raw bytea, seen timestamp);
INSERT INTO mixed VALUES
  (1, NULL, NULL, NULL, NULL, NULL, NULL),
  (2, '', 0, '2024-02-29 23:59:59.999999+14', '{}', '\\x', '0001-01-01 00:00:00'),
  (3, 'say "hi", then
leave', 123456789012345678901234567890.123456789012345678901234567890,
   '1999-12-31 12:00:00-09:30', '{"a": [1, "é", null], "b": "\\"q\\""}', '\\x00ff0a0d22',
   '294276-12-31 23:59:59.999999'),
  (4, 'ünïcødé ✓ 漢字 🐘', 'NaN', 'infinity', '"x,y"', '\\x5c', 'epoch'),
  (5, E'tab\\tback\\\\slash\\r\\ncrlf,comma', -1e-30, '-infinity', '[1e400]', NULL, NULL);
CREATE TABLE empty (id bigint PRIMARY KEY, label text);
CREATE TABLE wide (id bigint PRIMARY KEY, label text);
INSERT INTO wide VALUES (1, 'a'), (2, repeat('long "row", ', 20000)), (3, 'b');
CREATE TABLE many (id bigint PRIMARY KEY, label text, at timestamptz);
INSERT INTO many SELECT i, md5(i::text), '2020-01-01'::timestamptz + i * interval '1 min'
FROM generate_series(1, 20000) i;
CREATE FUNCTION noisy(i bigint) RETURNS bigint LANGUAGE plpgsql AS
  $$ BEGIN RAISE NOTICE 'row %', i; RETURN i; END $$;
"""
_COLUMNS = {
    "mixed": ["id", "label", "n", "at", "doc", "raw", "seen"],
    "empty": ["id", "label"],
    "wide": ["id", "label"],
    "many": ["id", "label", "at"],
}


@pytest.fixture
def tables(pg_database: Callable[[str], str]) -> str:
    url = pg_database("copyread")
    execute(url, _TABLES)
    return url


@pytest.fixture
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("VEILSYNC_COPY_READER", request.param)
    return str(request.param)


def _copied(url: str, statement: str, max_bytes: int) -> list[bytes]:
    with psycopg.connect(url) as conn, conn.cursor() as cur, cur.copy(statement) as copy:
        return list(copy_read.copy_blocks(copy, max_bytes))


def _both(
    url: str, statement: str, max_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[bytes], list[bytes]]:
    """(compiled blocks, psycopg's rows) of one COPY."""
    monkeypatch.setenv("VEILSYNC_COPY_READER", "compiled")
    blocks = _copied(url, statement, max_bytes)
    monkeypatch.setenv("VEILSYNC_COPY_READER", "psycopg")
    return blocks, _copied(url, statement, max_bytes)


def _boundaries(chunks: list[bytes]) -> set[int]:
    return set(itertools.accumulate(len(c) for c in chunks))


def test_this_machine_builds_the_compiled_reader() -> None:
    # Otherwise every comparison below would compare psycopg's path with itself.
    assert copy_read.block_reader() is not None


@pytest.mark.parametrize("table", sorted(_COLUMNS))
@pytest.mark.parametrize("max_bytes", [1, 1000, 2 << 20])
def test_compiled_blocks_hold_psycopgs_rows(
    tables: str, table: str, max_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    statement = f"COPY (SELECT * FROM {table} ORDER BY id) TO STDOUT (FORMAT csv)"
    blocks, rows_ = _both(tables, statement, max_bytes, monkeypatch)
    assert b"".join(blocks) == b"".join(rows_)
    assert _boundaries(blocks) <= _boundaries(rows_)  # whole rows in every block
    if max_bytes == 1:
        assert blocks == rows_  # one row per block, the longest one too
    elif len(rows_) > 1000:
        assert len(blocks) < len(rows_) / 10


def test_notices_mid_copy_reach_psycopg(tables: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # libpq calls psycopg's notice receiver from inside the C loop, without the GIL held.
    statement = "COPY (SELECT noisy(id), label FROM many ORDER BY id) TO STDOUT (FORMAT csv)"
    blocks, rows_ = _both(tables, statement, 1 << 16, monkeypatch)
    assert b"".join(blocks) == b"".join(rows_) and len(rows_) == 20000


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(
        st.none() | st.text(st.characters(codec="utf-8", exclude_characters="\x00")), max_size=30
    )
)
def test_generated_text_reads_alike(
    tables: str, values: list[str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg.connect(tables, autocommit=True) as conn:
        conn.execute("TRUNCATE empty")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO empty VALUES (%s, %s)", list(enumerate(values)))
    statement = "COPY (SELECT * FROM empty ORDER BY id) TO STDOUT (FORMAT csv)"
    blocks, rows_ = _both(tables, statement, 64, monkeypatch)
    assert b"".join(blocks) == b"".join(rows_) and len(rows_) == len(values)


@pytest.mark.parametrize("reader", READERS, indirect=True)
def test_the_connector_reads_the_table_with_either_reader(tables: str, reader: str) -> None:
    chunks = list(
        PostgresDatabase(tables).read_copy(ReadRequest("public", "many", _COLUMNS["many"]))
    )
    assert sum(c.count(b"\n") for c in chunks) == 20000
    assert len(chunks) == (20000 if reader == "psycopg" else 1)  # 1.2 MB: one block
    batches = list(PostgresDatabase(tables).read(ReadRequest("public", "mixed", _COLUMNS["mixed"])))
    assert sum(b.num_rows for b in batches) == 5
    assert batches[0].column("label").to_pylist()[:3] == [None, "", 'say "hi", then\nleave']


@pytest.mark.parametrize("reader", ["psycopg"], indirect=True)
def test_sync_works_on_psycopgs_path(shop: tuple[str, str], reader: str) -> None:
    source, destination = shop
    run_sync(source, destination, shop_job())
    query = "SELECT * FROM order_items ORDER BY id"
    assert rows(source, query) == rows(destination, query)


def test_a_failed_build_falls_back_to_psycopg(
    tables: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = tmp_path / "_copyread.c"
    broken.write_text("this is not C\n")
    monkeypatch.setattr(copy_read, "_SOURCE", broken)
    monkeypatch.setattr(copy_read, "_loaded", [])
    with caplog.at_level(logging.WARNING, logger=copy_read.__name__):
        assert copy_read.block_reader() is None
        chunks = _copied(tables, "COPY many TO STDOUT (FORMAT csv)", 2 << 20)
    assert len(chunks) == 20000
    assert "compiled COPY reader unavailable" in caplog.text
    # The warning says why: the compiler's own complaint, naming the line it stopped at.
    assert f"{broken.name}:1:" in caplog.text, caplog.text


@pytest.mark.parametrize("reader", READERS, indirect=True)
@pytest.mark.parametrize("max_bytes", [1000, 2 << 20])  # stopped mid-COPY, or on its last block
def test_a_read_stopped_early_leaves_the_connection_usable(
    tables: str, reader: str, max_bytes: int
) -> None:
    with psycopg.connect(tables) as conn:
        with (
            pytest.raises(InterruptedError),
            conn.cursor() as cur,
            cur.copy("COPY many TO STDOUT (FORMAT csv)") as copy,
        ):
            for _ in copy_read.copy_blocks(copy, max_bytes):
                raise InterruptedError  # psycopg's exit cancels the COPY and drains it
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM many").fetchone() == (20000,)
    source = PostgresDatabase(tables)
    chunks = cast(Generator[bytes], source.read_copy(ReadRequest("public", "many", ["id"])))
    assert next(chunks)
    chunks.close()  # a consumer that stops early: the connection goes, quietly
    assert source.count("public", "many") == 20000


@pytest.mark.parametrize("reader", READERS, indirect=True)
def test_an_error_mid_copy_is_psycopgs_error(tables: str, reader: str) -> None:
    statement = "COPY (SELECT 1 / (id - 15000) FROM many ORDER BY id) TO STDOUT (FORMAT csv)"
    with psycopg.connect(tables) as conn:
        with (
            pytest.raises(psycopg.errors.DivisionByZero),
            conn.cursor() as cur,
            cur.copy(statement) as copy,
        ):
            list(copy_read.copy_blocks(copy, 1000))
        conn.rollback()
        assert conn.execute("SELECT 1").fetchone() == (1,)
    request = ReadRequest("public", "many", ["id"], where="1 / (id - 15000) > -1")
    with pytest.raises(DataRejectedError, match="division by zero"):
        list(PostgresDatabase(tables).read_copy(request))


@pytest.mark.parametrize("reader", READERS, indirect=True)
def test_a_backend_killed_mid_copy_is_unavailable(tables: str, reader: str) -> None:
    with psycopg.connect(tables, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO many SELECT i, repeat('x', 200) FROM generate_series(20001, 300000) i"
        )
    source = PostgresDatabase(tables)
    chunks: Iterator[bytes] = source.read_copy(ReadRequest("public", "many", ["id", "label"]))
    assert next(chunks)
    with psycopg.connect(tables, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    with pytest.raises(DatabaseUnavailableError):
        for _ in chunks:
            pass
