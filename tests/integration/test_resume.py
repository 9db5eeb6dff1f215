"""A worker killed with SIGKILL mid-table: the table resumes on a new worker from its last
checkpoint, and the destination ends equal to the source with no duplicates."""

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from google.protobuf import json_format
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from services.common import contract
from tests.integration.shop import rows
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2

PART_ROWS = 60_000  # a part takes a few seconds to read: a kill lands mid-part
CHUNK_ROWS = 5_000
TABLE = """
CREATE TABLE events (
    id bigint PRIMARY KEY, email text NOT NULL, payload text, created_at timestamptz NOT NULL);
INSERT INTO events
SELECT i, 'user' || i || '@corp.test', repeat('x', i % 50),
       '2024-01-01'::timestamptz + i * interval '1 minute'
FROM generate_series(1, {rows}) AS i;
ANALYZE events;
"""


@pytest.fixture(params=[1, 2], ids=["whole", "two-key-ranges"])
def worker_config(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    temporal_env: WorkflowEnvironment,
    pg_database: Callable[[str], str],
) -> Iterator[tuple[Path, dict[str, str]]]:
    source, destination = pg_database("src"), pg_database("dst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(TABLE.format(rows=PART_ROWS * request.param))
    job = job_pb2.Job(id="resume", name="resume", source=job_pb2.JobSource(connection="src"))
    job.destinations.add(connection="dst", init_schema=True, truncate_before_insert=True)
    job.mappings.add(table="events").columns["email"].transform_email.SetInParent()
    job.split_table_rows = PART_ROWS  # in parts, each resumes from its own checkpoint
    config = {
        "temporal": temporal_env.client.service_client.config.target_host,
        "queue": f"resume-{uuid.uuid4().hex[:8]}",
        "urls": {"src": source, "dst": destination},
        "job": json_format.MessageToDict(job),
        "chunk_rows": CHUNK_ROWS,
        "pause": 0.05,  # about 20k rows/s: the table takes a few seconds
        "rows": PART_ROWS * request.param,
    }
    path = tmp_path / "worker.json"
    path.write_text(json.dumps(config))
    yield path, config


def start_worker(path: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.worker_process", str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "worker ready"
    return process


async def committed_checkpoint(client: Client, handle: WorkflowHandle[object, object]) -> int:
    """Rows of the last checkpoint the server holds for the running table copy."""
    description = await handle.describe()
    for pending in description.raw_description.pending_activities:
        if pending.activity_type.name == "sync_table" and pending.heartbeat_details.payloads:
            [checkpoint] = await client.data_converter.decode(
                pending.heartbeat_details.payloads, [sync_pb2.TableCheckpoint]
            )
            return int(checkpoint.rows_read)
    return 0


async def test_a_killed_worker_resumes_mid_table_without_loss_or_duplicates(
    temporal_env: WorkflowEnvironment, worker_config: tuple[Path, dict[str, str]]
) -> None:
    path, config = worker_config
    first = start_worker(path)
    second: subprocess.Popen[str] | None = None
    try:
        request = sync_pb2.DataSyncWorkflowInput(job_id="resume", account_id="test")
        request.run_options.table_heartbeat_timeout.FromTimedelta(timedelta(seconds=3))
        handle = await temporal_env.client.start_workflow(
            contract.DATA_SYNC_WORKFLOW,
            request,
            id=f"resume-{uuid.uuid4().hex}",
            task_queue=config["queue"],
            result_type=sync_pb2.DataSyncWorkflowResult,
        )
        for _ in range(600):
            if await committed_checkpoint(temporal_env.client, handle) >= 2 * CHUNK_ROWS:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("no checkpoint was committed mid-table")
        first.kill()  # SIGKILL: no cleanup, the chunk in flight is lost
        first.wait()
        second = start_worker(path)
        result = await asyncio.wait_for(handle.result(), timeout=120)
    finally:
        for process in (first, second):
            if process is not None:
                if process.poll() is None:
                    process.terminate()
                    process.wait()
                if process.stdout is not None:
                    process.stdout.close()
    [table] = result.progress.tables
    total = int(config["rows"])
    assert table.rows_read == table.rows_written == total
    assert 2 * CHUNK_ROWS <= table.rows_resumed < total  # fewer rows than a full restart
    source, destination = config["urls"]["src"], config["urls"]["dst"]
    assert rows(destination, "SELECT count(*), count(DISTINCT id) FROM events") == [(total, total)]
    query = "SELECT id, payload, created_at FROM events ORDER BY id"
    assert rows(destination, query) == rows(source, query)
    changed = rows(
        destination,
        "SELECT count(*) FROM events d WHERE d.email LIKE 'user%@corp.test'",
    )
    assert changed == [(0,)]
