"""GenerateWorkflow on a real Temporal dev server and real PostgreSQL: a schema with a
foreign-key cycle and a self-reference filled with valid references, unique keys and the
requested row counts, directly and through the API."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from google.protobuf import json_format
from psycopg.rows import dict_row
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from services.common import contract
from services.sync_worker.worker import MAX_CONCURRENT_ACTIVITIES, build_worker
from tests.believable import failures
from tests.integration.conftest import Api
from tests.integration.shop import rows
from tests.integration.test_api_runs import with_password
from tests.integration.test_sync_workflow import FakeDirectory
from veilsync.temporal.v1 import generate_pb2, sync_pb2
from veilsync.v1 import connection_pb2 as c
from veilsync.v1 import job_pb2

# departments <-> employees is a cycle (departments.head_id is nullable and deferred),
# employees.manager_id a self-reference, badges a one-to-one extension keyed by its reference,
# assignments a join table whose key is two references.
SCHEMA_SQL = """
CREATE TYPE level AS ENUM ('junior', 'senior', 'staff');
CREATE TABLE departments (
    id integer PRIMARY KEY,
    code varchar(8) NOT NULL UNIQUE,
    head_id bigint,
    budget numeric(9, 2) NOT NULL
);
CREATE TABLE employees (
    id bigint PRIMARY KEY,
    external_id uuid NOT NULL UNIQUE,
    department_id integer NOT NULL REFERENCES departments (id),
    manager_id bigint REFERENCES employees (id),
    name varchar(12) NOT NULL,
    level level NOT NULL,
    hired_at timestamptz NOT NULL,
    active boolean NOT NULL,
    profile jsonb
);
ALTER TABLE departments ADD FOREIGN KEY (head_id) REFERENCES employees (id);
CREATE TABLE badges (
    employee_id bigint PRIMARY KEY REFERENCES employees (id),
    serial text NOT NULL
);
CREATE TABLE assignments (
    employee_id bigint NOT NULL REFERENCES employees (id),
    department_id integer NOT NULL REFERENCES departments (id),
    PRIMARY KEY (employee_id, department_id)
);
"""
COUNTS = {
    "public.departments": 40,
    "public.employees": 700,
    "public.badges": 300,
    "public.assignments": 500,
}
# (child, column, parent, parent column, nullable)
REFERENCES = [
    ("departments", "head_id", "employees", "id"),
    ("employees", "department_id", "departments", "id"),
    ("employees", "manager_id", "employees", "id"),
    ("badges", "employee_id", "employees", "id"),
    ("assignments", "employee_id", "employees", "id"),
    ("assignments", "department_id", "departments", "id"),
]
# Keys made from row ordinals hold exactly 1..N; a key that is a one-to-one reference holds its
# parent's keys of rows 1..N.
ORDINAL_KEYS = [
    ("departments", "id"),
    ("departments", "code"),
    ("employees", "id"),
    ("badges", "employee_id"),
    ("assignments", "employee_id"),
]


def generate_spec() -> job_pb2.GenerateSpec:
    """What a job file's `generate:` section says, through the proto3 JSON mapping."""
    return json_format.ParseDict(
        {
            "defaultRows": "500",
            "tables": [
                {"table": "departments", "rows": "40"},
                {
                    "table": "employees",
                    "rows": "700",
                    "columns": {"name": {"generateFirstName": {}}},
                },
                {"table": "badges", "rows": "300"},
            ],
        },
        job_pb2.GenerateSpec(),
    )


async def generate_job_into(api: Api, destination: str) -> job_pb2.Job:
    """The schema created in destination, registered as connection "qa", and a job (not yet
    created) that fills it."""
    with psycopg.connect(destination, autocommit=True) as conn:
        conn.execute(SCHEMA_SQL)
    await api.connections.CreateConnection(
        c.CreateConnectionRequest(name="qa", url=with_password(destination))
    )
    job = job_pb2.Job(name="fill-qa", generate=generate_spec())
    job.destinations.add(connection="qa", truncate_before_insert=True)
    return job


def value(url: str, query: str) -> Any:
    return rows(url, query)[0][0]


def check_generated(url: str) -> None:
    for table, count in COUNTS.items():
        assert value(url, f"SELECT count(*) FROM {table}") == count, table
    for child, column, parent, key in REFERENCES:
        dangling = value(
            url,
            f"SELECT count(*) FROM {child} c LEFT JOIN {parent} p ON p.{key} = c.{column} "
            f"WHERE c.{column} IS NOT NULL AND p.{key} IS NULL",
        )
        assert dangling == 0, f"{child}.{column}"
    # Every reference is set, but for the root of the manager tree.
    assert value(url, "SELECT count(*) FROM departments WHERE head_id IS NULL") == 0
    assert value(url, "SELECT count(*) FROM employees WHERE manager_id IS NULL") == 1
    assert value(url, "SELECT count(*) FROM employees WHERE manager_id >= id") == 0
    for table, column in ORDINAL_KEYS:
        missing_or_extra = value(
            url,
            f"SELECT count(*) FROM {table} FULL JOIN "
            f"generate_series(1, {COUNTS[f'public.{table}']}) AS s (n) ON {column}::bigint = s.n "
            f"WHERE {column} IS NULL OR s.n IS NULL",
        )
        assert missing_or_extra == 0, f"{table}.{column}"
    # Generated UUID keys are version 4.
    assert value(url, "SELECT count(*) FROM employees WHERE external_id::text !~ '^.{14}4'") == 0
    # Defaults fit their types, and differ between rows.
    assert value(url, "SELECT count(DISTINCT hired_at) FROM employees") > 600
    assert value(url, "SELECT count(DISTINCT level) FROM employees") == 3
    assert value(url, "SELECT count(*) FROM employees WHERE profile = '{}'::jsonb") == 700


@pytest.fixture
async def worker(
    temporal_env: WorkflowEnvironment,
) -> AsyncIterator[tuple[Client, str, FakeDirectory]]:
    directory = FakeDirectory()
    queue = f"generate-test-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
        async with build_worker(
            temporal_env.client, directory, executor, task_queue=queue, chunk_rows=200
        ):
            yield temporal_env.client, queue, directory


async def run_generate(
    worker: tuple[Client, str, FakeDirectory],
    job: job_pb2.Job,
    destination: str,
    source: str | None = None,
    run_id: str = "",
) -> generate_pb2.GenerateWorkflowResult:
    """Run a generate job into `destination` (the connection "qa"), from `source` ("prod")
    when it has one, through the worker's GenerateWorkflow."""
    client, queue, directory = worker
    directory.urls["qa"] = destination
    if source:
        directory.urls["prod"] = source
        job.source.connection = "prod"
    job.destinations.add(connection="qa", truncate_before_insert=True)
    directory.jobs[job.id] = job
    return await client.execute_workflow(
        contract.GENERATE_WORKFLOW,
        generate_pb2.GenerateWorkflowInput(job_id=job.id, account_id="default"),
        id=run_id or f"run-{uuid.uuid4().hex}",
        task_queue=queue,
        result_type=generate_pb2.GenerateWorkflowResult,
    )


async def test_generate_fills_a_cyclic_schema_with_valid_references(
    worker: tuple[Client, str, FakeDirectory], pg_database: Callable[[str], str]
) -> None:
    client, queue, _ = worker
    destination = pg_database("gen")
    with psycopg.connect(destination, autocommit=True) as conn:
        conn.execute(SCHEMA_SQL)
    job = job_pb2.Job(id="job-gen", generate=generate_spec())
    run_id = f"run-{uuid.uuid4().hex}"
    result = await run_generate(worker, job, destination, run_id=run_id)
    check_generated(destination)
    assert {t.table: t.rows_written for t in result.progress.tables} == COUNTS
    assert [t.table for t in result.progress.tables][:2] == [
        "public.departments",
        "public.employees",
    ]
    assert all(t.status == job_pb2.TABLE_SYNC_STATUS_SUCCEEDED for t in result.progress.tables)
    assert result.rows_generated == result.rows_written == sum(COUNTS.values())
    answer = await client.get_workflow_handle(run_id).query(
        contract.GET_SYNC_PROGRESS_QUERY,
        sync_pb2.GetSyncProgressRequest(),
        result_type=sync_pb2.GetSyncProgressResponse,
    )
    assert answer.progress == result.progress
    # Keyed: a second run gives the same rows.
    before = value(destination, "SELECT md5(string_agg(e::text, ',' ORDER BY id)) FROM employees e")
    await client.execute_workflow(
        contract.GENERATE_WORKFLOW,
        generate_pb2.GenerateWorkflowInput(job_id=job.id, account_id="default"),
        id=f"run-{uuid.uuid4().hex}",
        task_queue=queue,
        result_type=generate_pb2.GenerateWorkflowResult,
    )
    after = value(destination, "SELECT md5(string_agg(e::text, ',' ORDER BY id)) FROM employees e")
    assert before == after


# No column config at all: every generator is chosen by what the column's name says it holds.
PEOPLE_SQL = """
CREATE DOMAIN grade AS smallint CHECK (VALUE BETWEEN 1 AND 5);
CREATE TABLE people (
    id integer PRIMARY KEY,
    first_name varchar(40) NOT NULL,
    last_name varchar(40) NOT NULL,
    email varchar(60) NOT NULL UNIQUE,
    phone varchar(20),
    country varchar(60) NOT NULL,
    city text,
    postal_code varchar(10),
    address text,
    birth_date date NOT NULL,
    hire_date date NOT NULL CHECK (hire_date > birth_date),
    salary numeric(8, 2) NOT NULL CHECK (salary > 0),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    status varchar(10) NOT NULL CHECK (status IN ('active', 'on leave', 'far too long')),
    grade grade NOT NULL,
    shipped_on date,
    received_on date,
    CHECK (received_on > shipped_on)
);
"""
PEOPLE_ROWS = 3000


async def test_a_generate_job_without_column_config_writes_believable_people(
    worker: tuple[Client, str, FakeDirectory], pg_database: Callable[[str], str]
) -> None:
    destination = pg_database("people")
    with psycopg.connect(destination, autocommit=True) as conn:
        conn.execute(PEOPLE_SQL)
    job = job_pb2.Job(id="job-people", generate=job_pb2.GenerateSpec(default_rows=PEOPLE_ROWS))
    await run_generate(worker, job, destination)
    # The dates are "past" on the server's day as on the test's.
    today = datetime.now(UTC).date()
    with psycopg.connect(destination) as conn, conn.cursor(row_factory=dict_row) as cur:
        people = cur.execute("SELECT * FROM people").fetchall()
        server_today = conn.execute("SELECT current_date").fetchone()
    assert len(people) == PEOPLE_ROWS
    assert failures(people, min(today, server_today[0] if server_today else today)) == {}
    assert len({p["email"] for p in people}) == PEOPLE_ROWS
    # Not one value repeated everywhere: each column draws on its own.
    for name in ("first_name", "last_name", "country", "city", "birth_date", "salary"):
        assert len({p[name] for p in people}) > 100, name
    # The checks PostgreSQL enforced are met by choice, not by luck: all values appear.
    assert {p["status"] for p in people} == {"active", "on leave"}
    assert {p["grade"] for p in people} == {1, 2, 3, 4, 5}


PAYMENTS_SQL = """
CREATE TABLE payments (
    id integer PRIMARY KEY,
    amount numeric(5, 2) NOT NULL,
    rental_days integer NOT NULL,
    weight double precision
);
"""


async def test_a_generate_job_with_a_source_learns_number_ranges_from_its_statistics(
    worker: tuple[Client, str, FakeDirectory], pg_database: Callable[[str], str]
) -> None:
    """Real amounts run from 0.99 to 11.99: generated ones do too, not 1 to 200 (or 0 to 999)."""
    source, destination = pg_database("src"), pg_database("dst")
    for url in (source, destination):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(PAYMENTS_SQL)
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO payments SELECT i, 0.99 + (i % 12), 3 + i % 5, NULL "
            "FROM generate_series(1, 2000) AS i; ANALYZE payments"
        )
    job = job_pb2.Job(id="job-learn", generate=job_pb2.GenerateSpec(default_rows=1000))
    await run_generate(worker, job, destination, source)
    (low, high, distinct, days_low, days_high), *_ = rows(
        destination,
        "SELECT min(amount), max(amount), count(DISTINCT amount), min(rental_days), "
        "max(rental_days) FROM payments",
    )
    assert 0.99 <= low < 2 and 10.99 < high <= 11.99 and distinct > 100
    assert (days_low, days_high) == (3, 7)
    # Nothing to learn from a column of NULLs: the type's default range stands.
    assert value(destination, "SELECT max(weight) FROM payments") > 100


@pytest.fixture
async def api_worker(api: Api) -> AsyncIterator[None]:
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
        async with build_worker(api.temporal, api.store, executor, api.settings.sync_task_queue):
            yield


async def test_a_generate_job_runs_through_the_api(
    api: Api, api_worker: None, pg_database: Callable[[str], str]
) -> None:
    destination = pg_database("gen")
    job = await generate_job_into(api, destination)
    created = (await api.jobs.CreateJob(job_pb2.CreateJobRequest(job=job))).job
    run = (
        await api.jobs.TriggerJobRun(
            job_pb2.TriggerJobRunRequest(job=job_pb2.JobRef(id=created.id))
        )
    ).run
    for _ in range(600):
        progress = (
            await api.jobs.GetJobRunProgress(job_pb2.GetJobRunProgressRequest(run_id=run.id))
        ).progress
        if progress.status != job_pb2.RUN_STATUS_RUNNING:
            break
        await asyncio.sleep(0.1)
    assert progress.status == job_pb2.RUN_STATUS_SUCCEEDED
    assert {t.table: t.rows_written for t in progress.tables} == COUNTS
    assert progress.rows_total == progress.rows_read == sum(COUNTS.values())
    check_generated(destination)
    listed = await api.jobs.ListJobRuns(
        job_pb2.ListJobRunsRequest(job=job_pb2.JobRef(id=created.id))
    )
    assert [r.id for r in listed.runs] == [run.id]
