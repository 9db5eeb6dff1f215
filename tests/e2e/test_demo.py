"""`veilsync demo` as a user runs it, each on a stack of its own: on PostgreSQL, on SQLite
(asked for, or because PostgreSQL does not answer), and stopped by a taken port."""

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from services.cli import sample_shop
from services.cli.demo import database_names, fetch
from services.cli.stack import split_address
from tests.conftest import PG_ADMIN_URL, database_url
from tests.e2e.conftest import stack_cli

pytestmark = pytest.mark.e2e

# Nothing listens on port 1: the connection is refused at once, as on a laptop without
# PostgreSQL.
NO_POSTGRES = "postgresql://postgres@127.0.0.1:1/postgres"
DEMO_TIMEOUT_S = 240


def assert_anonymized(source: str, destination: str) -> None:
    """Every table arrived whole, and no customer's email or SSN is left in the QA copy."""
    for table in sample_shop.TABLES:
        name = table.split(".", 1)[1]
        count = f"SELECT count(*) FROM {name}"
        assert fetch(destination, count) == fetch(source, count), name
    query = "SELECT id, email, ssn FROM customers ORDER BY id"
    before, after = fetch(source, query), fetch(destination, query)
    assert [row[0] for row in after] == [row[0] for row in before]
    assert not {row[1] for row in before} & {row[1] for row in after}
    assert {row[2] for row in after} == {None}


@pytest.fixture
def demo_databases(postgres_server: None) -> Iterator[tuple[str, str, str]]:
    """A --name and the two database names it gives; both dropped afterwards."""
    name = f"e2e_{uuid.uuid4().hex[:8]}"
    names = database_names(Path(), name)
    yield name, *names
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for db in names:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db))
            )


@pytest.mark.temporal
def test_the_demo_anonymizes_the_shop_on_postgres(
    demo_databases: tuple[str, str, str], tmp_path: Path
) -> None:
    name, source, destination = demo_databases
    cli = stack_cli(tmp_path)
    result = cli.ok("demo", "--postgres", PG_ADMIN_URL, "--name", name, timeout=DEMO_TIMEOUT_S)
    said = " ".join(result.stderr.split())  # rich wraps lines at the terminal's width
    assert f"PostgreSQL database {source}, destination {destination}" in said
    assert_anonymized(database_url(source), database_url(destination))


@pytest.mark.sqlite
@pytest.mark.temporal
@pytest.mark.parametrize(
    "choice", [["--sqlite"], ["--postgres", NO_POSTGRES]], ids=["asked", "no-postgres"]
)
def test_the_demo_anonymizes_the_shop_into_sqlite_files(choice: list[str], tmp_path: Path) -> None:
    cli = stack_cli(tmp_path)
    cli.ok("demo", *choice, timeout=DEMO_TIMEOUT_S)
    files = tmp_path / "demo"
    assert_anonymized(f"sqlite://{files / 'shop.db'}", f"sqlite://{files / 'shop_qa.db'}")


def test_a_taken_port_stops_the_demo_before_any_database_is_dropped(
    demo_databases: tuple[str, str, str], tmp_path: Path
) -> None:
    name, *databases = demo_databases
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        for db in databases:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    with psycopg.connect(database_url(databases[0])) as conn:
        conn.execute("CREATE TABLE kept AS SELECT 1 AS one")
    cli = stack_cli(tmp_path)
    with socket.socket() as taken:
        taken.bind(split_address(cli.env["VEILSYNC_API"]))
        taken.listen()
        result = cli("demo", "--postgres", PG_ADMIN_URL, "--name", name, timeout=60)
    assert result.returncode != 0
    assert "already in use" in result.stderr, result.stderr
    assert fetch(database_url(databases[0]), "SELECT one FROM kept") == [(1,)]
