"""A run's events name every table its activities wrote, whichever activity of the Temporal
contract wrote it: small tables copied together by one sync_tables activity, and the tables of
a generate run (generate_table, fill_generated_references). Through the API, with the real sync
worker in-process."""

import asyncio
from collections.abc import Callable

import psycopg
import pytest

from services.contract.sync_worker_temporal import (
    FILL_GENERATED_REFERENCES_ACTIVITY,
    GENERATE_TABLE_ACTIVITY,
    SYNC_TABLES_ACTIVITY,
)
from tests.integration.conftest import Api
from tests.integration.test_api_runs import with_password, worker  # noqa: F401 - a fixture
from tests.integration.test_generate_workflow import COUNTS, generate_job_into
from veilsync.v1 import connection_pb2 as c
from veilsync.v1 import job_pb2 as j

SMALL_TABLES = ["public.colors", "public.sizes", "public.shapes"]
WRITTEN = {j.TABLE_EVENT_KIND_SCHEDULED, j.TABLE_EVENT_KIND_STARTED, j.TABLE_EVENT_KIND_COMPLETED}


async def run_events(api: Api, job: j.Job) -> list[j.TableEvent]:
    """Create the job, run it to success and return its events."""
    created = (await api.jobs.CreateJob(j.CreateJobRequest(job=job))).job
    run = (await api.jobs.TriggerJobRun(j.TriggerJobRunRequest(job=j.JobRef(id=created.id)))).run
    for _ in range(1200):
        got = (await api.jobs.GetJobRun(j.GetJobRunRequest(run_id=run.id))).run
        if got.status != j.RUN_STATUS_RUNNING:
            break
        await asyncio.sleep(0.1)
    assert got.status == j.RUN_STATUS_SUCCEEDED, got
    return list((await api.jobs.GetJobRunEvents(j.GetJobRunEventsRequest(run_id=run.id))).events)


def kinds_by_table(events: list[j.TableEvent], activity: str) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for event in events:
        if event.activity == activity:
            found.setdefault(event.table, set()).add(event.kind)
    return found


@pytest.mark.usefixtures("worker")
async def test_small_tables_copied_together_each_have_their_events(
    api: Api, pg_database: Callable[[str], str]
) -> None:
    source, destination = pg_database("src"), pg_database("dst")
    with psycopg.connect(source, autocommit=True) as conn:
        for table in SMALL_TABLES:
            name = table.split(".")[1]
            conn.execute(f"CREATE TABLE {name} (id integer PRIMARY KEY, label text NOT NULL)")
            conn.execute(f"INSERT INTO {name} SELECT i, 'x' || i FROM generate_series(1, 20) i")
    for name, url in (("prod", source), ("qa", destination)):
        await api.connections.CreateConnection(
            c.CreateConnectionRequest(name=name, url=with_password(url))
        )
    # One slot for three small independent tables: one activity copies them all.
    job = j.Job(name="small", max_parallel_tables=1)
    job.source.connection = "prod"
    job.destinations.add(connection="qa", init_schema=True)

    events = await run_events(api, job)

    assert kinds_by_table(events, SYNC_TABLES_ACTIVITY.name) == dict.fromkeys(SMALL_TABLES, WRITTEN)


@pytest.mark.usefixtures("worker")
async def test_a_generate_run_has_events_for_its_tables(
    api: Api, pg_database: Callable[[str], str]
) -> None:
    job = await generate_job_into(api, pg_database("gen"))

    events = await run_events(api, job)

    assert kinds_by_table(events, GENERATE_TABLE_ACTIVITY.name) == dict.fromkeys(COUNTS, WRITTEN)
    # departments.head_id closes the cycle with employees, and employees.manager_id refers to
    # employees: both are filled once the rows they point at exist.
    assert kinds_by_table(events, FILL_GENERATED_REFERENCES_ACTIVITY.name) == {
        "public.departments": WRITTEN,
        "public.employees": WRITTEN,
    }
