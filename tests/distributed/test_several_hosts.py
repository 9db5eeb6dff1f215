"""Several hosts, proven: a 2M-row table split into key ranges runs over two sync workers
on two hosts; mid-run one host is cut off the network and the other worker is killed. The
run still succeeds, driven through the CLI as a user would, and the destination equals the
source, every row once."""

import asyncio
import json
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from temporalio.api.enums.v1 import EventType, PendingActivityState

from services.contract.sync_worker_temporal import SYNC_TABLE_ACTIVITY
from tests.distributed.conftest import Deployment, identity

pytestmark = [pytest.mark.distributed, pytest.mark.timeout(900)]

ROWS = 2_000_000
# 16 parts, all started at once: twice what one worker runs at a time (8), so both
# workers take some. A table is split in at most max_parallel_tables parts.
PART_ROWS = 125_000
PARTS = ROWS // PART_ROWS
HEARTBEAT = timedelta(seconds=5)
RUN_TIMEOUT_S = 600
FILL = """
CREATE TABLE ledger (
    id bigint PRIMARY KEY, account integer NOT NULL, amount numeric(12, 2) NOT NULL,
    memo text, booked_at timestamptz NOT NULL);
INSERT INTO ledger
SELECT i, i % 9973, (i % 100000) / 100.0, 'entry ' || i,
       '2024-01-01'::timestamptz + i * interval '1 second'
FROM generate_series(1, {rows}) AS i;
ANALYZE ledger;
"""
# Order-independent: the rows, the distinct keys, and a sum of each row's hash.
SUMMARY = """
SELECT count(*), count(DISTINCT id), sum(('x' || left(md5(l::text), 15))::bit(60)::bigint)
FROM ledger AS l
"""
PRIMARY_KEYS = (
    "SELECT count(*) FROM pg_constraint WHERE conrelid = 'ledger'::regclass AND contype = 'p'"
)
JOB = f"""\
name: ledger
source: {{connection: source}}
destinations:
  - connection: replica
    init_schema: true
    truncate_before_insert: true
split_table_rows: {PART_ROWS}
max_parallel_tables: {PARTS}
run_options: {{table_heartbeat_timeout: {HEARTBEAT.seconds}s}}
mappings:
  - table: public.ledger
"""


def _summary(url: str) -> tuple[int, int, int]:
    with psycopg.connect(url) as conn:
        count, distinct, hashes = conn.execute(SUMMARY).fetchone() or (0, 0, 0)
        return count, distinct, hashes


async def _running_parts(
    deployment: Deployment, run_id: str, wanted: set[str]
) -> dict[str, set[str]]:
    """Wait until every identity in `wanted` runs a part; the parts (activity ids) seen
    running, by worker identity."""
    seen: dict[str, set[str]] = {}
    handle = deployment.temporal.get_workflow_handle(run_id)

    async def each_running() -> bool:
        description = await handle.describe()
        for pending in description.raw_description.pending_activities:
            if (
                pending.activity_type.name == SYNC_TABLE_ACTIVITY.name
                and pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
            ):
                seen.setdefault(pending.last_worker_identity, set()).add(pending.activity_id)
        return wanted <= set(seen)

    await deployment.eventually(each_running, f"parts running on each of {sorted(wanted)}")
    return seen


async def _parts_by_worker(deployment: Deployment, run_id: str) -> Counter[str]:
    """Parts by the worker that ran their last attempt: history records a part's start once,
    for the attempt that ended it."""
    history = await deployment.temporal.get_workflow_handle(run_id).fetch_history()
    activity: dict[int, str] = {}
    parts: Counter[str] = Counter()
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            activity[event.event_id] = (
                event.activity_task_scheduled_event_attributes.activity_type.name
            )
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            if activity[started.scheduled_event_id] == SYNC_TABLE_ACTIVITY.name:
                parts[started.identity] += 1
    return parts


def _seconds(run: dict[str, str]) -> float:
    start, close = (datetime.fromisoformat(run[f]) for f in ("start_time", "close_time"))
    return (close - start).total_seconds()


async def test_a_run_survives_a_cut_host_and_a_killed_worker(
    deployment: Deployment, tmp_path: Path
) -> None:
    source, replica = f"{deployment.server}/source", f"{deployment.server}/replica"
    began = time.monotonic()
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(FILL.format(rows=ROWS))
    fill_s = time.monotonic() - began
    cli = deployment.cli
    cli.ok("connections", "create", "--name", "source", "--url", source)
    cli.ok("connections", "create", "--name", "replica", "--url", replica)
    (tmp_path / "ledger.yaml").write_text(JOB)
    cli.ok("jobs", "create", "-f", str(tmp_path / "ledger.yaml"))
    run_id = cli.ok("jobs", "run", "ledger").stdout.splitlines()[0].strip()

    cut, killed = deployment.workers["sync-a"], deployment.workers["sync-b"]
    running = await _running_parts(deployment, run_id, {identity(cut), identity(killed)})
    killed.kill()
    replacement = deployment.start("sync-b", "sync-worker")
    deployment.hosts["sync-a"].cut()
    # Long enough for the server to give up on the cut host's parts and hand them on.
    await asyncio.sleep(3 * HEARTBEAT.total_seconds())
    deployment.hosts["sync-a"].reconnect()

    watched = await asyncio.to_thread(
        cli, "runs", "watch", run_id, "--timeout", str(RUN_TIMEOUT_S), timeout=RUN_TIMEOUT_S + 60
    )
    run = json.loads(cli.ok("runs", "get", run_id, "--json").stdout)
    assert run["status"] == "RUN_STATUS_SUCCEEDED", f"{watched.stdout}\n{watched.stderr}"
    events = json.loads(cli.ok("runs", "events", run_id, "--json").stdout)["events"]
    # The faults hit the run: parts were retried.
    assert any(e["kind"] == "TABLE_EVENT_KIND_RETRIED" for e in events)

    expected = _summary(source)
    assert expected[:2] == (ROWS, ROWS)
    assert _summary(replica) == expected
    with psycopg.connect(replica) as conn:
        assert conn.execute(PRIMARY_KEYS).fetchone() == (1,)

    names = {identity(cut): "sync-a (cut off)", identity(killed): "sync-b (killed)"}
    names[identity(replacement)] = "sync-b (replacement)"
    parts = await _parts_by_worker(deployment, run_id)
    assert set(parts) <= set(names), parts
    print(
        f"\nseveral hosts: filled {ROWS:,} rows in {fill_s:.1f}s; run {_seconds(run):.1f}s "
        f"over {PARTS} parts; parts running before the faults: "
        + ", ".join(f"{names[who]} {len(ids)}" for who, ids in sorted(running.items()))
        + "; parts finished: "
        + ", ".join(f"{names[who]} {count}" for who, count in sorted(parts.items()))
    )
