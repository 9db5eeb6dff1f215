"""Every run verifies what it wrote before it reports success, and says so through the API
and `veilsync runs get`; a failed run counts the rows its destinations kept. Real runs: the
API, the sync worker in-process on its task queue, PostgreSQL on both sides."""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from click.testing import CliRunner
from temporalio.client import WorkflowFailureError

from services.cli.main import cli
from services.sync_worker.worker import MAX_CONCURRENT_ACTIVITIES, build_worker
from tests.integration.conftest import Api
from tests.integration.shop import SHOP_SQL, rows
from tests.integration.test_api_runs import shop_api_job, with_password
from veilsync.v1 import connection_pb2 as c
from veilsync.v1 import job_pb2 as j

CHUNK_ROWS = 64  # commits every 64 rows: a table of a few hundred fails between commits


@pytest.fixture
async def worker(api: Api) -> AsyncIterator[None]:
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
        async with build_worker(
            api.temporal, api.store, executor, api.settings.sync_task_queue, CHUNK_ROWS
        ):
            yield


async def connections(
    api: Api, pg_database: Callable[[str], str], source_sql: str = SHOP_SQL
) -> tuple[str, str]:
    """A source loaded with `source_sql` and an empty destination: connections prod and qa."""
    source, destination = pg_database("src"), pg_database("dst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(source_sql)
    for name, url in (("prod", source), ("qa", destination)):
        await api.connections.CreateConnection(
            c.CreateConnectionRequest(name=name, url=with_password(url))
        )
    return source, destination


async def run_to_end(api: Api, job: j.Job) -> j.JobRun:
    """Create the job, run it and wait for the run to end; the run as GetJobRun shows it."""
    job = (await api.jobs.CreateJob(j.CreateJobRequest(job=job))).job
    run = (await api.jobs.TriggerJobRun(j.TriggerJobRunRequest(job=j.JobRef(id=job.id)))).run
    with contextlib.suppress(WorkflowFailureError):
        await asyncio.wait_for(api.temporal.get_workflow_handle(run.id).result(), 120)
    return (await api.jobs.GetJobRun(j.GetJobRunRequest(run_id=run.id))).run


async def runs_get(api: Api, run_id: str) -> str:
    """`veilsync runs get` against the test API, off the event loop that serves it."""
    args = ["--api", api.settings.api, "--api-key", api.key.secret, "runs", "get", run_id]
    result = await asyncio.to_thread(CliRunner().invoke, cli, args)
    assert result.exit_code == 0, result.output
    return result.output


def quantity_references_a_customer(job: j.Job) -> j.Job:
    """A virtual foreign key (quantities 1-4 name customers 1-4): checked like declared ones."""
    job.source.virtual_foreign_keys.add(
        table="public.order_items",
        columns=["quantity"],
        references_table="public.customers",
        references_columns=["id"],
    )
    return job


async def test_a_clean_run_reports_its_verification(
    api: Api, worker: None, pg_database: Callable[[str], str]
) -> None:
    await connections(api, pg_database)
    run = await run_to_end(api, quantity_references_a_customer(shop_api_job()))

    assert run.status == j.RUN_STATUS_SUCCEEDED, run.failure_message
    verification = run.verification
    counts = {
        t.table: (t.rows_read, t.rows_written, t.rows_skipped, t.rows_present)
        for t in verification.tables
    }
    assert counts == {
        "public.customers": (60, 60, 0, 60),
        "public.orders": (150, 150, 0, 150),
        "public.order_items": (400, 400, 0, 400),
    }
    # orders -> customers, order_items -> orders, the deferred self-reference, the virtual key.
    assert verification.references_checked == 4
    assert not (verification.dangling or verification.failures or verification.warnings)

    shown = await runs_get(api, run.id)
    assert re.search(r"public\.order_items\s*│\s*400\s*│\s*400\s*│\s*0\s*│\s*400", shown), shown
    assert "integrity: OK (4 references checked)" in shown


async def test_dangling_references_fail_the_run_naming_table_columns_and_count(
    api: Api, worker: None, pg_database: Callable[[str], str]
) -> None:
    _, destination = await connections(api, pg_database)
    # The shop's tables without their constraints, and triggers that bend references as the
    # rows arrive: the copy itself succeeds, only the verification can tell.
    schema = re.sub(r" REFERENCES \w+ \(id\)", "", SHOP_SQL.split("INSERT INTO")[0])
    with psycopg.connect(destination, autocommit=True) as conn:
        conn.execute(schema)
        conn.execute(BENDING_TRIGGERS)
    job = quantity_references_a_customer(shop_api_job())
    job.destinations[0].init_schema = False

    run = await run_to_end(api, job)

    assert run.status == j.RUN_STATUS_FAILED
    dangling = {
        (d.table, tuple(d.columns), d.referenced_table, d.rows) for d in run.verification.dangling
    }
    assert dangling == {
        ("public.orders", ("customer_id",), "public.customers", 3),
        ("public.customers", ("referred_by",), "public.customers", 7),  # deferred
        ("public.order_items", ("quantity",), "public.customers", 4),  # virtual
    }
    for line in (
        "public.orders (customer_id) -> public.customers (id): 3 rows dangle",
        "public.customers (referred_by) -> public.customers (id): 7 rows dangle",
        "public.order_items (quantity) -> public.customers (id): 4 rows dangle",
    ):
        assert line in run.failure_message
    # Counts still match: the rows are all there, only their references are wrong.
    assert {t.table: t.rows_present for t in run.verification.tables} == {
        "public.customers": 60,
        "public.orders": 150,
        "public.order_items": 400,
    }
    shown = await runs_get(api, run.id)
    assert "integrity: 3 of 4 references dangle" in shown
    assert "failed:  public.orders (customer_id) -> public.customers (id): 3 rows dangle" in shown


BENDING_TRIGGERS = """
CREATE FUNCTION lose_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id % 50 = 0 THEN NEW.customer_id := NEW.customer_id + 1000; END IF;  -- 3 of 150
    RETURN NEW;
END $$;
CREATE TRIGGER lose_customer BEFORE INSERT ON orders
    FOR EACH ROW EXECUTE FUNCTION lose_customer();
CREATE FUNCTION lose_referrer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Deferred references arrive by UPDATE: customers 2-4 and 6-9 have a referrer.
    IF NEW.id <= 10 AND NEW.referred_by IS NOT NULL THEN
        NEW.referred_by := NEW.referred_by + 1000;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER lose_referrer BEFORE UPDATE ON customers
    FOR EACH ROW EXECUTE FUNCTION lose_referrer();
CREATE FUNCTION lose_quantity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id % 100 = 0 THEN NEW.quantity := 99; END IF;  -- 4 of 400
    RETURN NEW;
END $$;
CREATE TRIGGER lose_quantity BEFORE INSERT ON order_items
    FOR EACH ROW EXECUTE FUNCTION lose_quantity();
"""


async def test_a_subset_root_that_keeps_no_row_is_a_warning(
    api: Api, worker: None, pg_database: Callable[[str], str]
) -> None:
    await connections(api, pg_database)
    job = shop_api_job()
    job.source.subsets.add(table="public.customers", where="id < 0")
    job.source.subset_by_foreign_keys = True

    run = await run_to_end(api, job)

    assert run.status == j.RUN_STATUS_SUCCEEDED, run.failure_message
    warning = "subset root public.customers kept 0 rows"
    assert [w for w in run.verification.warnings if warning in w]
    assert f"warning: {warning}" in await runs_get(api, run.id)
    # Every source row of the subsetted tables was left out, and the run says how many.
    for table in run.verification.tables:
        assert table.rows_read == 0 < table.rows_left_out, table.table


EVENTS = """
CREATE TABLE audit (id bigint PRIMARY KEY, note text NOT NULL);
INSERT INTO audit SELECT i, 'note ' || i FROM generate_series(1, 100) AS i;
CREATE TABLE events (id bigint PRIMARY KEY, payload text NOT NULL);
INSERT INTO events SELECT i, repeat('x', i % 40) FROM generate_series(1, 1000) AS i;
ANALYZE;
"""


@pytest.mark.parametrize("parallel", [4, 1], ids=["own-activities", "one-group"])
async def test_a_run_failing_mid_table_counts_what_its_destination_kept(
    api: Api, worker: None, pg_database: Callable[[str], str], parallel: int
) -> None:
    """One table per activity (4 slots), or both small tables in one activity (1 slot)."""
    _, destination = await connections(api, pg_database, EVENTS)
    with psycopg.connect(destination, autocommit=True) as conn:
        conn.execute(FAIL_AT_EVENT_700)
    job = j.Job(name="events", source=j.JobSource(connection="prod"), max_parallel_tables=parallel)
    job.destinations.add(connection="qa", truncate_before_insert=True)

    run = await run_to_end(api, job)

    assert run.status == j.RUN_STATUS_FAILED
    assert "event 700 refused" in run.failure_message
    progress = (
        await api.jobs.GetJobRunProgress(j.GetJobRunProgressRequest(run_id=run.id))
    ).progress
    written = {t.table: t.rows_written for t in progress.tables}
    kept = {
        f"public.{table}": rows(destination, f"SELECT count(*) FROM {table}")[0][0]
        for table in ("audit", "events")
    }
    assert written == kept
    assert kept["public.events"] == 640  # ten commits of 64 rows; the eleventh rolled back
    assert progress.rows_written == sum(kept.values())


FAIL_AT_EVENT_700 = """
CREATE TABLE audit (id bigint PRIMARY KEY, note text NOT NULL);
CREATE TABLE events (id bigint PRIMARY KEY, payload text NOT NULL);
CREATE FUNCTION refuse_700() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id = 700 THEN RAISE EXCEPTION 'event 700 refused'; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse_700 BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_700();
"""
