"""No row value and no URL password reaches an API response, a run event, a log line or
Temporal history, on any copy path and any engine."""

import asyncio
import logging
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import psycopg
import pymysql
import pytest
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload

from services.common.codec import AesGcmCodec, parse_key
from services.contract.sync_worker_temporal import FILL_DEFERRED_COLUMNS_ACTIVITY
from services.sync_worker.worker import MAX_CONCURRENT_ACTIVITIES, build_worker
from tests.integration.conftest import Api
from tests.integration.mariadb import params
from tests.integration.test_api import expect_error
from veilsync.v1 import connection_pb2 as c
from veilsync.v1 import job_pb2 as j

# Two tables: few enough rows that the plan copies them together in one sync_tables activity.
_TABLES = ("people", "pets")


@pytest.fixture
async def worker(api: Api) -> AsyncIterator[None]:
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
        async with build_worker(api.temporal, api.store, executor, api.settings.sync_task_queue):
            yield


def _execute(url: str, statements: list[str]) -> None:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            for statement in statements:
                conn.execute(statement)
        return
    if url.startswith("mysql"):
        with pymysql.connect(**params(url), autocommit=True) as conn, conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
        return
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _plant(source: str, destination: str, secret: str, tables: tuple[str, ...]) -> None:
    """Tables with nothing to transform (the raw COPY path where the engines allow it), whose
    planted row is already in the destination under another id: a duplicate key."""
    for url in (source, destination):
        _execute(
            url,
            [
                f"CREATE TABLE {t} (id INTEGER PRIMARY KEY, email VARCHAR(200) UNIQUE)"
                for t in tables
            ],
        )
    rows = ", ".join(f"({i}, 'row-{i}@example.com')" for i in range(1, 4))
    _execute(
        source,
        [f"INSERT INTO {t} VALUES {rows}, (4, '{secret}')" for t in tables],
    )
    _execute(destination, [f"INSERT INTO {t} VALUES (99, '{secret}')" for t in tables])


async def decoded_history(api: Api, workflow_id: str) -> bytes:
    """The workflow's history as JSON, followed by every payload in it decrypted with the
    deployment's codec key: what a Temporal operator holding the key could read."""
    history = await api.raw_temporal.get_workflow_handle(workflow_id).fetch_history()
    codec = AesGcmCodec(parse_key(api.settings.codec_key))
    payloads: list[Payload] = []

    def collect(message: Message) -> None:
        if isinstance(message, Payload):
            payloads.append(message)
            return
        for field, value in message.ListFields():
            if field.type != field.TYPE_MESSAGE:
                continue
            if field.message_type.GetOptions().map_entry:
                values = [v for v in value.values() if isinstance(v, Message)]
            elif isinstance(value, Message):
                values = [value]
            else:
                values = list(value)
            for item in values:
                collect(item)

    for event in history.events:
        collect(event)
    decoded = await codec.decode(payloads)
    return history.to_json().encode() + b"".join(p.SerializeToString() for p in decoded)


def assert_nowhere(secret: str, blobs: list[bytes]) -> None:
    for blob in blobs:
        assert secret.encode() not in blob


async def _failed_run(api: Api, source: str, destination: str) -> tuple[j.JobRun, list[Message]]:
    for name, url in (("src", source), ("dst", destination)):
        await api.connections.CreateConnection(c.CreateConnectionRequest(name=name, url=url))
    job = j.Job(name="leak", source=j.JobSource(connection="src"))
    job.destinations.add(connection="dst")
    job = (await api.jobs.CreateJob(j.CreateJobRequest(job=job))).job
    run = (await api.jobs.TriggerJobRun(j.TriggerJobRunRequest(job=j.JobRef(id=job.id)))).run
    for _ in range(1200):
        got = (await api.jobs.GetJobRun(j.GetJobRunRequest(run_id=run.id))).run
        if got.status not in (j.RUN_STATUS_RUNNING, j.RUN_STATUS_UNSPECIFIED):
            break
        await asyncio.sleep(0.1)
    events = (await api.jobs.GetJobRunEvents(j.GetJobRunEventsRequest(run_id=run.id))).events
    return got, [got, *events]


@pytest.fixture(params=["postgres", "mysql", "sqlite"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if request.param == "postgres":
        make: Callable[[str], str] = request.getfixturevalue("pg_database")
        yield make("src"), make("dst")
    elif request.param == "mysql":
        make = request.getfixturevalue("mysql_database")
        yield make("src"), make("dst")
    else:
        yield f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{tmp_path / 'dst.db'}"


@pytest.mark.parametrize("tables", [_TABLES[:1], _TABLES], ids=["sync_table", "sync_tables"])
async def test_a_duplicate_key_names_no_row_value(
    api: Api,
    worker: None,
    databases: tuple[str, str],
    tables: tuple[str, ...],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = f"leak-{uuid.uuid4().hex}@example.com"
    source, destination = databases
    _plant(source, destination, secret, tables)
    run, responses = await _failed_run(api, source, destination)
    assert run.status == j.RUN_STATUS_FAILED, run
    assert run.failure_message
    assert_nowhere(
        secret,
        [
            *(r.SerializeToString() for r in responses),
            caplog.text.encode(),
            await decoded_history(api, run.id),
        ],
    )


async def test_url_passwords_are_redacted_and_local_options_refused(
    api: Api, pg_database: Callable[[str], str], tmp_path: Path
) -> None:
    secret = f"pw-{uuid.uuid4().hex}"
    url = pg_database("src") + f"?password={secret}&sslpassword={secret}"
    created = (
        await api.connections.CreateConnection(c.CreateConnectionRequest(name="p", url=url))
    ).connection
    got = await api.connections.GetConnection(
        c.GetConnectionRequest(connection=c.ConnectionRef(name="p"))
    )
    listed = await api.connections.ListConnections(c.ListConnectionsRequest())
    assert "password=***&sslpassword=***" in created.redacted_url
    # At rest the whole URL, query parameters included, is encrypted.
    stored = (tmp_path / "metadata.db").read_bytes()
    assert_nowhere(secret, [created.SerializeToString(), got.SerializeToString(), stored])
    assert_nowhere(secret, [listed.SerializeToString()])
    for option, bad in (
        ("passfile", "postgresql://u@h/db?passfile=/etc/passwd"),
        ("options", "postgresql://u@h/db?options=-c%20log_statement%3Dall"),
        ("host", "postgresql://u@h/db?host=/var/run/postgresql"),
        ("sslkey", "postgresql://u@h/db?sslkey=/root/key"),
        ("unix_socket", "mysql://u@h/db?unix_socket=/run/mysqld.sock"),
        ("read_default_file", "mysql://u@h/db?read_default_file=/etc/my.cnf"),
    ):
        for call in (
            api.connections.CreateConnection(c.CreateConnectionRequest(name="x", url=bad)),
            api.connections.UpdateConnection(
                c.UpdateConnectionRequest(connection=c.ConnectionRef(name="p"), url=bad)
            ),
            api.connections.CheckConnection(c.CheckConnectionRequest(url=bad)),
        ):
            await expect_error(
                call,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"url: option {option}",
                "VEILSYNC_ALLOW_LOCAL_URL_OPTIONS",
            )


async def test_a_failed_fill_of_deferred_references_names_no_row_value(
    api: Api, worker: None, databases: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """A self-reference is loaded NULL first and filled in after the table: the destination's
    extra UNIQUE on it fails that fill on the planted value, which two rows name."""
    caplog.set_level(logging.DEBUG)
    secret = f"leak-{uuid.uuid4().hex}"
    source, destination = databases
    columns = "id VARCHAR(200) PRIMARY KEY, mentor VARCHAR(200)"
    mentor = "FOREIGN KEY (mentor) REFERENCES people (id)"
    _execute(source, [f"CREATE TABLE people ({columns}, {mentor})"])
    _execute(destination, [f"CREATE TABLE people ({columns}, UNIQUE (mentor), {mentor})"])
    rows = f"('a', NULL), ('{secret}', 'a'), ('b', '{secret}'), ('c', '{secret}')"
    _execute(source, [f"INSERT INTO people VALUES {rows}"])
    run, responses = await _failed_run(api, source, destination)
    assert run.status == j.RUN_STATUS_FAILED, run
    assert any(
        isinstance(e, j.TableEvent)
        and e.activity == FILL_DEFERRED_COLUMNS_ACTIVITY.name
        and e.kind == j.TABLE_EVENT_KIND_FAILED
        for e in responses
    ), responses
    assert_nowhere(
        secret,
        [
            *(r.SerializeToString() for r in responses),
            caplog.text.encode(),
            await decoded_history(api, run.id),
        ],
    )
