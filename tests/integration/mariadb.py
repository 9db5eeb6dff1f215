"""Fresh MariaDB databases for tests (a pytest plugin, like shop.py)."""

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pymysql
import pytest

from tests.servers import unavailable

MYSQL_ADMIN_URL = os.environ.get("VEILSYNC_TEST_MYSQL", "mysql://root@127.0.0.1:3306/")
_SERVER = urlsplit(MYSQL_ADMIN_URL)
_LOGIN: dict[str, Any] = {
    "host": _SERVER.hostname or "127.0.0.1",
    "port": _SERVER.port or 3306,
    "user": _SERVER.username or "root",
    "password": _SERVER.password or "",
}


def admin() -> Any:
    return pymysql.connect(**_LOGIN, autocommit=True)


def params(url: str) -> dict[str, Any]:
    """pymysql.connect arguments for a database URL made by `mysql_database`."""
    return {**_LOGIN, "database": url.rsplit("/", 1)[1]}


@pytest.fixture(scope="session")
def mariadb_server() -> None:
    """MariaDB at VEILSYNC_TEST_MYSQL answers; probed once, failed (CI) or skipped otherwise."""
    try:
        admin().close()
    except pymysql.MySQLError as err:
        unavailable(f"no MySQL/MariaDB at {_LOGIN['host']}:{_LOGIN['port']} ({err})")


@pytest.fixture
def mysql_database(mariadb_server: None) -> Iterator[Callable[[str], str]]:
    """Factory of empty MariaDB databases, dropped after the test; returns their URLs."""
    created: list[str] = []

    def make(label: str = "db") -> str:
        name = f"vs_{label}_{uuid.uuid4().hex[:10]}"
        with admin() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        created.append(name)
        return MYSQL_ADMIN_URL.rstrip("/") + "/" + name

    yield make
    with admin() as conn, conn.cursor() as cur:
        for name in created:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
