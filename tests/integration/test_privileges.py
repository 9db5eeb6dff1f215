"""The privilege check before any write, on MariaDB accounts and SQLite files."""

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pymysql
import pytest

from services.common.errors import InvalidArgumentError
from services.engine.connectors import open_database
from services.engine.connectors.sqlite.connector import SqliteDatabase
from services.engine.copy.destinations import check_source_privileges
from services.engine.inspect.privileges import Role, check_privileges
from services.engine.planning.sync_plan import build_plan
from tests.integration.mariadb import admin, params
from tests.integration.shop import run_sync
from veilsync.v1 import job_pb2

TABLES = [
    "CREATE TABLE customers (id BIGINT PRIMARY KEY, name VARCHAR(20) NOT NULL)",
    "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL, "
    "total INT NOT NULL, FOREIGN KEY (customer_id) REFERENCES customers (id))",
]
JOB = job_pb2.Job(name="grants")


def mysql_shop(url: str) -> None:
    with pymysql.connect(**params(url), autocommit=True) as conn, conn.cursor() as cur:
        for statement in TABLES:
            cur.execute(statement)
        cur.executemany("INSERT INTO customers VALUES (%s, %s)", [(i, f"c{i}") for i in range(20)])
        cur.executemany(
            "INSERT INTO orders VALUES (%s, %s, %s)", [(i, i % 20, i) for i in range(50)]
        )


def count(url: str, table: str) -> int:
    with pymysql.connect(**params(url)) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")
        return int(cur.fetchone()[0])


@contextmanager
def mysql_account(url: str, *grants: str) -> Iterator[str]:
    """A new account given `grants`; yields `url` as that account. In the grants, {user} is
    the account, {role} a role for it to create, {db} the database and {pattern} a database
    pattern matching it alone (its _ escaped)."""
    user, password = f"vs_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    database = url.rsplit("/", 1)[1]
    names = {
        "user": f"`{user}`@`%`",
        "role": f"`{user}_r`",
        "db": database,
        "pattern": database.replace("_", "\\_"),
    }
    with admin() as conn, conn.cursor() as cur:
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, password))
        try:
            for grant in grants:
                cur.execute(grant.format(**names))
            yield url.replace("root@", f"{user}:{password}@", 1)
        finally:
            cur.execute(f"DROP USER `{user}`@`%`")
            cur.execute(f"DROP ROLE IF EXISTS `{user}_r`")


def test_a_mysql_destination_account_without_insert_fails_before_any_change(
    mysql_database: Callable[[str], str],
) -> None:
    source, destination = mysql_database("src"), mysql_database("dst")
    mysql_shop(source)
    run_sync(source, destination, JOB)  # as root: the destination's tables now exist
    with mysql_account(destination, "GRANT SELECT ON `{db}`.* TO {user}") as reader:
        options = job_pb2.JobDestination(truncate_before_insert=True)
        with pytest.raises(
            InvalidArgumentError, match=r"lacks INSERT on vs_dst_\w+\.customers"
        ) as error:
            run_sync(source, reader, JOB, options)
        assert error.value.field == "job.destinations[0]"
        # Checked before the truncate: the earlier copy is untouched.
        assert (count(destination, "customers"), count(destination, "orders")) == (20, 50)
        schema = open_database(reader).introspect()
        checked = check_privileges(reader, "mysql", schema, Role.DESTINATION)
        assert {(p.privilege, p.granted) for p in checked} == {
            ("INSERT", False),
            ("UPDATE", False),
            ("TRUNCATE", False),
        }
        assert all(p.granted for p in check_privileges(reader, "mysql", schema, Role.SOURCE))


def test_a_mysql_account_that_cannot_merge_is_refused_as_a_retry_would_need_it(
    mysql_database: Callable[[str], str],
) -> None:
    # A retried or resumed copy merges (ON DUPLICATE KEY UPDATE through a staged table),
    # whatever the job's on-conflict mode: without UPDATE it would fail only on a retry.
    source, destination = mysql_database("src"), mysql_database("dst")
    mysql_shop(source)
    run_sync(source, destination, JOB)
    grant = "GRANT SELECT, INSERT, DROP, CREATE TEMPORARY TABLES ON `{db}`.* TO {user}"
    with mysql_account(destination, grant) as writer:
        options = job_pb2.JobDestination(truncate_before_insert=True)
        with pytest.raises(InvalidArgumentError, match=r"lacks UPDATE on vs_dst_\w+\.customers"):
            run_sync(source, writer, JOB, options)
    assert (count(destination, "customers"), count(destination, "orders")) == (20, 50)


def test_tables_init_schema_would_create_are_checked_too_on_mysql(
    mysql_database: Callable[[str], str],
) -> None:
    # A MySQL account does not own the tables it creates: without INSERT it could create
    # them and then fail to fill them.
    source, destination = mysql_database("src"), mysql_database("dst")
    mysql_shop(source)
    lacking = pytest.raises(InvalidArgumentError, match=r"lacks INSERT on vs_dst_\w+\.customers")
    with mysql_account(destination, "GRANT CREATE, SELECT ON `{db}`.* TO {user}") as url, lacking:
        run_sync(source, url, JOB)
    assert open_database(destination).existing_tables() == set()


def test_a_mysql_account_granted_through_a_pattern_a_role_and_tables_passes(
    mysql_database: Callable[[str], str],
) -> None:
    source, destination = mysql_database("src"), mysql_database("dst")
    mysql_shop(source)
    run_sync(source, destination, JOB)
    grants = [
        "GRANT SELECT, INSERT ON `{pattern}`.* TO {user}",
        "CREATE ROLE {role}",
        "GRANT UPDATE ON `{db}`.* TO {role}",
        "GRANT {role} TO {user}",
        "SET DEFAULT ROLE {role} FOR {user}",
        # TRUNCATE needs the DROP privilege: granted on each table.
        "GRANT DROP ON `{db}`.`customers` TO {user}",
        "GRANT DROP ON `{db}`.`orders` TO {user}",
    ]
    with pymysql.connect(**params(destination), autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO customers VALUES (999, 'marker')")
    options = job_pb2.JobDestination(
        truncate_before_insert=True, on_conflict=job_pb2.ON_CONFLICT_UPDATE
    )
    database = destination.rsplit("/", 1)[1]
    escaped = database.replace("_", "\\_")

    def grant(statement: str) -> None:
        with admin() as conn, conn.cursor() as cur:
            cur.execute(f"{statement} TO `{urlsplit(writer).username}`@`%`")

    with mysql_account(destination, *grants) as writer:
        # Rows to merge wait in a temporary table, which needs a grant of its own.
        refused = r"lacks TEMPORARY on vs_dst_\w+\.customers"
        with pytest.raises(InvalidArgumentError, match=refused):
            run_sync(source, writer, JOB, options)
        # The server reads one database-level grant per account, the most specific matching:
        # on the unescaped name, whose _ are wildcards, it loses to the escaped pattern's.
        grant(f"GRANT CREATE TEMPORARY TABLES ON `{database}`.*")
        with pytest.raises(InvalidArgumentError, match=refused):
            run_sync(source, writer, JOB, options)
        assert count(destination, "customers") == 21  # never truncated
        grant(f"GRANT CREATE TEMPORARY TABLES ON `{escaped}`.*")
        run_sync(source, writer, JOB, options)
        assert (count(destination, "customers"), count(destination, "orders")) == (20, 50)
        schema = open_database(writer).introspect()
        checked = check_privileges(writer, "mysql", schema, Role.DESTINATION)
        assert len(checked) == 6 and all(p.granted for p in checked)


def test_a_mysql_source_account_must_read_every_table(
    mysql_database: Callable[[str], str],
) -> None:
    source = mysql_database("src")
    mysql_shop(source)
    plan = build_plan(JOB, open_database(source).introspect(), "src", [])
    lacking = pytest.raises(InvalidArgumentError, match=r"lacks SELECT on vs_src_\w+\.orders$")
    with mysql_account(source, "GRANT SELECT ON `{db}`.`customers` TO {user}") as reader, lacking:
        check_source_privileges(open_database(reader), plan)


def sqlite_shop(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        for statement in TABLES:
            conn.execute(statement)
        conn.executemany("INSERT INTO customers VALUES (?, ?)", [(i, f"c{i}") for i in range(20)])
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?)", [(i, i % 20, i) for i in range(50)])
    return f"sqlite://{path}"


@contextmanager
def mode(path: Path, bits: int) -> Iterator[None]:
    before = path.stat().st_mode
    path.chmod(bits)
    try:
        yield
    finally:
        path.chmod(before)


# Read-only means the permission bits, for root too (which os.access lets do anything):
# these tests run the same as root and as any other user.
def test_a_read_only_sqlite_destination_fails_before_any_change(tmp_path: Path) -> None:
    source = sqlite_shop(tmp_path / "src.db")
    target = tmp_path / "dst.db"
    sqlite3.connect(target).close()
    run_sync(source, f"sqlite://{target}", JOB)
    before = target.read_bytes()
    with mode(target, 0o444):
        with pytest.raises(InvalidArgumentError, match=r"lacks INSERT on main\.customers"):
            run_sync(source, f"sqlite://{target}", JOB)
        schema = open_database(f"sqlite://{target}").introspect()
        checked = check_privileges(f"sqlite://{target}", "sqlite", schema, Role.DESTINATION)
        assert len(checked) == 6 and not any(p.granted for p in checked)
        assert all(p.granted for p in check_privileges(source, "sqlite", schema, Role.SOURCE))
    assert target.read_bytes() == before


def test_a_sqlite_destination_needs_its_directory_writable_for_the_journal(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "dst"
    folder.mkdir()
    target = f"sqlite://{folder / 'dst.db'}"
    sqlite3.connect(folder / "dst.db").close()
    run_sync(sqlite_shop(tmp_path / "src.db"), target, JOB)
    tables = [("main", "customers")]
    database = SqliteDatabase(target)
    with mode(folder, 0o555):
        assert database.missing_privileges(tables, ["SELECT", "UPDATE"]) == [
            ("UPDATE", "main.customers")
        ]
    assert database.missing_privileges(tables, ["SELECT", "UPDATE"]) == []


def test_an_unreadable_sqlite_source_fails_the_source_check(tmp_path: Path) -> None:
    path = tmp_path / "src.db"
    source = sqlite_shop(path)
    plan = build_plan(JOB, open_database(source).introspect(), "src", [])
    check_source_privileges(open_database(source), plan)
    with mode(path, 0o000), pytest.raises(InvalidArgumentError, match=r"lacks SELECT on main\."):
        check_source_privileges(open_database(source), plan)
