"""Fresh MariaDB databases for tests (a pytest plugin, like shop.py)."""

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pymysql
import pytest

MYSQL_ADMIN_URL = os.environ.get("VEILSYNC_TEST_MYSQL", "mysql://root@127.0.0.1:3306/")


def admin() -> Any:
    return pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)


def params(url: str) -> dict[str, Any]:
    """pymysql.connect arguments for a database URL made by `mysql_database`."""
    return {"host": "127.0.0.1", "port": 3306, "user": "root", "database": url.rsplit("/", 1)[1]}


@pytest.fixture
def mysql_database() -> Iterator[Callable[[str], str]]:
    """Factory of empty MariaDB databases, dropped after the test; returns their URLs."""
    try:
        admin().close()
    except pymysql.MySQLError as err:
        pytest.skip(f"no MySQL/MariaDB at 127.0.0.1:3306 ({err})")
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
