"""Records the histories the replay tests replay: `python -m tests.replay.record`.

Runs a successful and a failing DataSyncWorkflow and a GenerateWorkflow on a local dev server
against real PostgreSQL (VEILSYNC_TEST_PG, as the integration tests), and writes each history
to tests/replay/histories/<name>.json. Re-record only after a deliberate workflow change that
old histories may no longer replay; a failing replay test otherwise means a nondeterminism bug.

The client has no payload codec, so the histories hold plain payloads the replayer decodes.
A history is refused if any string in it, payloads decoded, names a database URL, a password
or a source row value."""

import asyncio
import base64
import binascii
import contextlib
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from services.common import contract
from services.common.temporal import dev_server_binary
from services.sync_worker.worker import MAX_CONCURRENT_ACTIVITIES, build_worker
from tests.conftest import PG_ADMIN_URL
from tests.integration.shop import SHOP_SQL, shop_job
from tests.integration.test_generate_workflow import SCHEMA_SQL, generate_spec
from tests.integration.test_sync_workflow import FakeDirectory
from veilsync.temporal.v1 import generate_pb2, sync_pb2
from veilsync.v1 import job_pb2

HISTORIES = Path(__file__).parent / "histories"
# Tables with no foreign keys, ready alongside customers: with two parallel slots, the small
# ready tables share sync_tables activities while orders and order_items get sync_table.
LOOKUP_SQL = """
CREATE TABLE countries (code char(2) PRIMARY KEY, name text NOT NULL);
CREATE TABLE currencies (code char(3) PRIMARY KEY, symbol text NOT NULL);
CREATE TABLE warehouses (id int PRIMARY KEY, city text NOT NULL);
INSERT INTO countries VALUES ('FR', 'France'), ('DE', 'Germany');
INSERT INTO currencies VALUES ('EUR', 'E'), ('USD', 'D');
INSERT INTO warehouses VALUES (1, 'Lyon'), (2, 'Bremen');
ANALYZE;
"""
# A statement trigger's fixed message: a row-level error (a constraint, a row trigger) would
# quote the offending row into the failure message, and so into the history.
REFUSE_CUSTOMERS_SQL = """
CREATE TABLE customers (id bigint PRIMARY KEY, first_name varchar(40), last_name text,
    email varchar(120), ssn text, notes text, referred_by bigint, created_at timestamptz);
CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'customers are read-only here'; END $$;
CREATE TRIGGER refuse AFTER INSERT ON customers FOR EACH STATEMENT EXECUTE FUNCTION refuse();
"""
# Strings that must never reach a history: URLs, credentials, and values of source rows.
FORBIDDEN = ("postgresql://", "password", "corp.test", "Smith", "SKU-", "Lyon", "Bremen", "France")


class Databases:
    """Fresh PostgreSQL databases, dropped on exit."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def __call__(self, label: str) -> str:
        name = f"vs_replay_{label}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    def drop(self) -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _strings(node: Any, key: str = "") -> Iterator[str]:
    """Every string in a history's JSON, payload data decoded from base64."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, k)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item, key)
    elif isinstance(node, str):
        yield node
        if key == "data":
            with contextlib.suppress(binascii.Error, ValueError):
                yield base64.b64decode(node, validate=True).decode("utf-8", "replace")


def check_clean(name: str, text: str, urls: list[str]) -> None:
    for value in _strings(json.loads(text)):
        lowered = value.lower()
        for word in (*FORBIDDEN, *urls):
            if word.lower() in lowered:
                raise SystemExit(f"{name}: history contains {word!r} in {value[:200]!r}")


def shop_job_with_lookups(directory: FakeDirectory, source: str, destination: str) -> None:
    directory.urls.update(prod=source, qa=destination)
    job = shop_job()
    job.id = "job-sync"
    job.max_parallel_tables = 2
    job.source.connection = "prod"
    job.destinations.add(connection="qa", truncate_before_insert=True, init_schema=True)
    directory.jobs[job.id] = job


async def record_all(client: Client, make_db: Callable[[str], str]) -> dict[str, str]:
    directory = FakeDirectory()
    queue = f"replay-record-{uuid.uuid4().hex[:8]}"
    workflow_ids: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
        async with build_worker(client, directory, executor, task_queue=queue, chunk_rows=200):
            # A sync that copies grouped and single tables and fills a self-reference.
            source, destination = make_db("src"), make_db("dst")
            with psycopg.connect(source, autocommit=True) as conn:
                conn.execute(SHOP_SQL)
                conn.execute(LOOKUP_SQL)
            shop_job_with_lookups(directory, source, destination)
            workflow_ids["sync_succeeded"] = "replay-sync-succeeded"
            result = await client.execute_workflow(
                contract.DATA_SYNC_WORKFLOW,
                sync_pb2.DataSyncWorkflowInput(job_id="job-sync", account_id="default"),
                id=workflow_ids["sync_succeeded"],
                task_queue=queue,
                result_type=sync_pb2.DataSyncWorkflowResult,
            )
            assert result.rows_written == 616, result

            # A sync whose destination refuses the customers: their group fails, the run fails.
            failing = make_db("dst")
            with psycopg.connect(failing, autocommit=True) as conn:
                conn.execute(REFUSE_CUSTOMERS_SQL)
            directory.urls["qa"] = failing
            workflow_ids["sync_failed"] = "replay-sync-failed"
            try:
                await client.execute_workflow(
                    contract.DATA_SYNC_WORKFLOW,
                    sync_pb2.DataSyncWorkflowInput(job_id="job-sync", account_id="default"),
                    id=workflow_ids["sync_failed"],
                    task_queue=queue,
                )
            except WorkflowFailureError as err:
                assert "customers are read-only here" in str(err.cause), err.cause
            else:
                raise AssertionError("the failing sync succeeded")

            # A generate run over a foreign-key cycle and a self-reference.
            generated = make_db("gen")
            with psycopg.connect(generated, autocommit=True) as conn:
                conn.execute(SCHEMA_SQL)
            directory.urls["gen"] = generated
            gen_job = job_pb2.Job(id="job-gen", generate=generate_spec())
            gen_job.destinations.add(connection="gen", truncate_before_insert=True)
            directory.jobs[gen_job.id] = gen_job
            workflow_ids["generate_succeeded"] = "replay-generate-succeeded"
            await client.execute_workflow(
                contract.GENERATE_WORKFLOW,
                generate_pb2.GenerateWorkflowInput(job_id="job-gen", account_id="default"),
                id=workflow_ids["generate_succeeded"],
                task_queue=queue,
                result_type=generate_pb2.GenerateWorkflowResult,
            )
    urls = list(directory.urls.values())
    histories: dict[str, str] = {}
    for name, workflow_id in workflow_ids.items():
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        text = history.to_json()
        check_clean(name, text, urls)
        histories[name] = text
    return histories


async def main() -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(dev_server_binary()),
        dev_server_extra_args=["--headless", "--log-level", "error"],
    )
    databases = Databases()
    try:
        # The environment's own client: the default data converter, no codec.
        histories = await record_all(env.client, databases)
    finally:
        databases.drop()
        await env.shutdown()
    HISTORIES.mkdir(exist_ok=True)
    for name, text in histories.items():
        path = HISTORIES / f"{name}.json"
        path.write_text(json.dumps(json.loads(text), indent=1, sort_keys=True) + "\n")
        print(f"wrote {path} ({path.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
