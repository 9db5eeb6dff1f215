"""Transformed keys stay joinable (issue 4): a keyed transform_uuid on a uuid primary key and
a keyed transform_email on an email primary key, mapped on the key alone and inherited by the
foreign keys pointing at it, on through a key that is itself a reference in another schema
(issue 11), give destination joins that match the source's joins one for one."""

import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from google.protobuf import json_format
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from services.common import contract
from services.sync_worker.worker import MAX_CONCURRENT_ACTIVITIES, build_worker
from tests.integration.shop import rows
from tests.integration.test_sync_workflow import FakeDirectory
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2

SOURCE_SQL = """
CREATE TABLE accounts (id uuid PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE sessions (
    id bigint PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id),
    label text NOT NULL
);
CREATE TABLE users (email varchar(80) PRIMARY KEY, nickname text NOT NULL UNIQUE);
CREATE TABLE logins (
    id bigint PRIMARY KEY,
    user_email varchar(80) REFERENCES users (email),
    port integer NOT NULL
);
-- A chain across schemas: plan_changes references account_plans, whose key references accounts.
CREATE SCHEMA billing;
CREATE TABLE billing.account_plans (account_id uuid PRIMARY KEY REFERENCES accounts (id));
CREATE TABLE billing.plan_changes (
    id bigint PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES billing.account_plans (account_id)
);
INSERT INTO accounts SELECT gen_random_uuid(), 'account ' || i FROM generate_series(1, 200) i;
INSERT INTO billing.account_plans SELECT id FROM accounts;
INSERT INTO billing.plan_changes
SELECT i, (SELECT id FROM accounts ORDER BY name OFFSET (i * 31) % 200 LIMIT 1)
FROM generate_series(1, 1000) i;
INSERT INTO sessions
SELECT i, (SELECT id FROM accounts ORDER BY name OFFSET (i * 7919) % 200 LIMIT 1), 'session ' || i
FROM generate_series(1, 1000) i;
INSERT INTO users
SELECT 'person.' || i || '@corp' || (i % 7) || '.example.com', 'nick' || i
FROM generate_series(1, 300) i;
INSERT INTO logins
SELECT i, CASE WHEN i % 50 = 0 THEN NULL
              ELSE 'person.' || (1 + (i * 31) % 300) || '@corp' || ((1 + (i * 31) % 300) % 7)
                   || '.example.com' END,
       i % 1000
FROM generate_series(1, 1000) i;
"""
# Only the keys: sessions.account_id and logins.user_email inherit their key's transformer.
MAPPINGS = [
    {
        "table": "accounts",
        "columns": {"id": {"transformUuid": {}}, "name": {"passthrough": {}}},
    },
    {"table": "users", "columns": {"email": {"transformEmail": {"preserveDomain": True}}}},
]
JOINS = {
    "sessions to accounts": (
        "SELECT s.id, a.name FROM sessions s JOIN accounts a ON a.id = s.account_id ORDER BY 1"
    ),
    "plan changes to accounts": (
        "SELECT c.id, a.name FROM billing.plan_changes c "
        "JOIN billing.account_plans p ON p.account_id = c.account_id "
        "JOIN accounts a ON a.id = p.account_id ORDER BY 1"
    ),
    "logins to users": (
        "SELECT l.id, u.nickname FROM logins l JOIN users u ON u.email = l.user_email ORDER BY 1"
    ),
}


@pytest.fixture
async def worker(
    temporal_env: WorkflowEnvironment,
) -> AsyncIterator[tuple[Client, str, FakeDirectory]]:
    directory = FakeDirectory()
    queue = f"keys-test-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
        async with build_worker(temporal_env.client, directory, executor, task_queue=queue):
            yield temporal_env.client, queue, directory


async def test_transformed_keys_keep_every_join(
    worker: tuple[Client, str, FakeDirectory], pg_database: Callable[[str], str]
) -> None:
    client, queue, directory = worker
    source, destination = pg_database("src"), pg_database("dst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(SOURCE_SQL)
    directory.urls.update(prod=source, qa=destination)
    job = json_format.ParseDict({"id": "job-keys", "mappings": MAPPINGS}, job_pb2.Job())
    job.source.connection = "prod"
    job.destinations.add(connection="qa", init_schema=True, truncate_before_insert=True)
    directory.jobs[job.id] = job
    await client.execute_workflow(
        contract.DATA_SYNC_WORKFLOW,
        sync_pb2.DataSyncWorkflowInput(job_id=job.id, account_id="default"),
        id=f"run-{uuid.uuid4().hex}",
        task_queue=queue,
        result_type=sync_pb2.DataSyncWorkflowResult,
    )
    for name, query in JOINS.items():
        expected = rows(source, query)
        assert len(expected) > 900, name
        assert rows(destination, query) == expected, name
    # The keys did change, stayed unique, and every reference still finds its row.
    for table, key in (("accounts", "id"), ("users", "email")):
        before = {r[0] for r in rows(source, f"SELECT {key} FROM {table}")}
        after = {r[0] for r in rows(destination, f"SELECT {key} FROM {table}")}
        assert len(after) == len(before)
        assert not before & after, table
    assert rows(
        destination,
        "SELECT count(*) FROM logins l LEFT JOIN users u ON u.email = l.user_email "
        "WHERE l.user_email IS NOT NULL AND u.email IS NULL",
    ) == [(0,)]
    domains = rows(destination, "SELECT DISTINCT split_part(email, '@', 2) FROM users ORDER BY 1")
    assert domains == [(f"corp{i}.example.com",) for i in range(7)]


# A randomized key: members.id maps with `random: true`, and the references inherit it. members
# and posts are split into key ranges (one activity per part), likes and follows are small (one
# activity for both), referred_by closes a cycle (filled in a later step).
RANDOM_SQL = """
CREATE TABLE members (
    id bigint PRIMARY KEY, name text NOT NULL UNIQUE, referred_by bigint REFERENCES members (id)
);
CREATE TABLE posts (id bigint PRIMARY KEY, member_id bigint NOT NULL REFERENCES members (id));
CREATE TABLE likes (id integer PRIMARY KEY, member_id bigint NOT NULL REFERENCES members (id));
INSERT INTO members SELECT i, 'member ' || i, NULLIF((i * 31) % 1000, 0)
FROM generate_series(1, 1000) i;
INSERT INTO posts SELECT i, 1 + (i * 7919) % 1000 FROM generate_series(1, 1000) i;
CREATE TABLE follows (id integer PRIMARY KEY, member_id bigint NOT NULL REFERENCES members (id));
INSERT INTO likes SELECT i, 1 + (i * 13) % 1000 FROM generate_series(1, 200) i;
INSERT INTO follows SELECT i, 1 + (i * 17) % 1000 FROM generate_series(1, 200) i;
"""
RANDOM_JOINS = {
    "posts to members": "SELECT p.id, m.name FROM posts p JOIN members m ON m.id = p.member_id",
    "likes to members": "SELECT l.id, m.name FROM likes l JOIN members m ON m.id = l.member_id",
    "follows": "SELECT f.id, m.name FROM follows f JOIN members m ON m.id = f.member_id",
    "referrals": "SELECT m.name, r.name FROM members m JOIN members r ON r.id = m.referred_by",
}


async def test_a_random_key_is_one_per_run(
    worker: tuple[Client, str, FakeDirectory], pg_database: Callable[[str], str]
) -> None:
    client, queue, directory = worker
    source = pg_database("src")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(RANDOM_SQL)
    directory.urls["prod"] = source
    scramble = {"transformScrambleIdentity": {}, "random": True}
    job = json_format.ParseDict(
        {
            "id": "job-random",
            "mappings": [{"table": "members", "columns": {"id": scramble}}],
            "splitTableRows": 500,
            "maxParallelTables": 2,
        },
        job_pb2.Job(),
    )
    job.source.connection = "prod"
    directory.jobs[job.id] = job
    ids = []
    for run in ("first", "second"):
        directory.urls[run] = pg_database(run)
        del job.destinations[:]
        job.destinations.add(connection=run, init_schema=True)
        handle = await client.start_workflow(
            contract.DATA_SYNC_WORKFLOW,
            sync_pb2.DataSyncWorkflowInput(job_id=job.id, account_id="default"),
            id=f"run-{uuid.uuid4().hex}",
            task_queue=queue,
            result_type=sync_pb2.DataSyncWorkflowResult,
        )
        await handle.result()
        activities = [
            event.activity_task_scheduled_event_attributes.activity_type.name
            async for event in handle.fetch_history_events()
            if event.HasField("activity_task_scheduled_event_attributes")
        ]
        assert activities.count("sync_table") == 4, activities  # members and posts: 2 parts
        assert {"sync_tables", "fill_deferred_columns"} <= set(activities)
        for name, query in RANDOM_JOINS.items():
            expected = sorted(rows(source, query))
            assert len(expected) >= 199, name
            assert sorted(rows(directory.urls[run], query)) == expected, (run, name)
        ids.append(dict(rows(directory.urls[run], "SELECT name, id FROM members")))
    before = dict(rows(source, "SELECT name, id FROM members"))
    for mapped in ids:
        assert len(set(mapped.values())) == len(before)
        assert sum(mapped[name] == key for name, key in before.items()) <= 1
    assert sum(ids[0][name] != ids[1][name] for name in before) >= len(before) - 1
