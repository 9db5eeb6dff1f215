"""Sakila, the best-known sample schema, in PostgreSQL for tests (a pytest plugin).

Loaded once per session with psql from `shared/samples/sakila` into a template database;
each test gets its own copy (CREATE DATABASE ... TEMPLATE), dropped afterwards."""

import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import PG_ADMIN_URL, database_factory, database_url

# A copy of shared/samples/sakila, unedited, so a clean clone tests on its own.
SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "sakila"
SCHEMA = SAMPLES / "postgres-sakila-schema.sql"
DATA = SAMPLES / "postgres-sakila-insert-data-using-copy.sql"


def _psql(url: str, script: Path) -> None:
    subprocess.run(
        ["psql", "--quiet", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(script)],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def sakila_template(postgres_server: None) -> Iterator[str]:
    """Name of a database holding Sakila's schema and data; nobody connects to it."""
    if not SCHEMA.exists():
        pytest.fail(f"the Sakila sample is missing: {SCHEMA}")
    name = f"vs_sakila_tpl_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        _psql(database_url(name), SCHEMA)
        _psql(database_url(name), DATA)
        yield name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sakila_pg(sakila_template: str) -> Iterator[Callable[[], str]]:
    """Factory of fresh Sakila databases (copies of the template); returns their URLs."""
    with database_factory(sakila_template) as make:
        yield lambda: make("sakila")
