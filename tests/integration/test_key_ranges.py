"""Key ranges on each engine: the split keys cut a table into parts of about equal size, and
reading the parts by their bounds gives every row exactly once, in key order."""

import itertools
import sqlite3
from collections.abc import Callable
from pathlib import Path

import psycopg
import pymysql
import pytest

from services.engine.connectors import open_database
from services.engine.connectors.base import Database, ReadRequest
from tests.integration.mariadb import params

# A composite key of text and integer; 300 rows, 198 of them matching the subset predicate.
CREATE = (
    "CREATE TABLE events (region VARCHAR(8) NOT NULL, seq INTEGER NOT NULL, note VARCHAR(40), "
    "PRIMARY KEY (region, seq))"
)
INSERT = "INSERT INTO events VALUES " + ", ".join(
    f"('{region}', {seq}, '{'kept' if seq % 3 else 'dropped'} {seq}%')"
    for region in ("ap", "eu", "us")
    for seq in range(100)
)
WHERE = "note LIKE 'kept%'"  # a % that must stay a pattern when the read has parameters


def _postgres(pg_database: Callable[[str], str], _: Path) -> str:
    url = pg_database("ranges")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(CREATE)
        conn.execute(INSERT.replace("%", "%%"))
    return url


def _mariadb(mysql_database: Callable[[str], str], _: Path) -> str:
    url = mysql_database("ranges")
    with pymysql.connect(**params(url), autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(CREATE)
        cur.execute(INSERT)
    return url


def _sqlite(_: object, tmp_path: Path) -> str:
    path = tmp_path / "ranges.db"
    with sqlite3.connect(path) as conn:
        conn.execute(CREATE)
        conn.execute(INSERT)
    return f"sqlite://{path}"


@pytest.fixture(params=["postgres", "mariadb", "sqlite"])
def events(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    make = {"postgres": _postgres, "mariadb": _mariadb, "sqlite": _sqlite}[request.param]
    databases = {
        "postgres": "pg_database",
        "mariadb": "mysql_database",
        "sqlite": "tmp_path",
    }
    return open_database(make(request.getfixturevalue(databases[request.param]), tmp_path))


def _rows(
    database: Database, after: list[str] | None = None, until: list[str] | None = None
) -> list[tuple[str, int]]:
    key = ["region", "seq"]
    request = ReadRequest(database.default_schema, "events", key, key, after, until, WHERE)
    batches = database.read(request)
    return [(r["region"], int(r["seq"])) for b in batches for r in b.to_pylist()]


def test_parts_cover_the_subset_once_in_key_order(events: Database) -> None:
    everything = _rows(events)
    assert len(everything) == 198

    keys = events.split_keys(events.default_schema, "events", ["region", "seq"], 198, 4, WHERE)

    assert len(keys) == 3
    bounds = [None, *keys, None]
    parts = [_rows(events, after=a, until=u) for a, u in itertools.pairwise(bounds)]
    assert [row for part in parts for row in part] == everything
    assert [len(part) for part in parts] == [50, 50, 50, 48]
    assert [list(map(str, part[-1])) for part in parts[:-1]] == keys


def test_a_table_smaller_than_its_parts_gets_fewer_keys(events: Database) -> None:
    keys = events.split_keys(events.default_schema, "events", ["region", "seq"], 198, 400, WHERE)

    assert len(keys) == 197  # a row per part, and no empty part after the last row
