"""Runs, schedules, accounts and secrets through the API, with the real sync worker in-process
on the API's own task queue."""

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor

import grpc
import psycopg
import pytest
from google.protobuf import field_mask_pb2
from google.protobuf.message import Message
from temporalio.client import WorkflowFailureError

from services.common.contract import DEFAULT_ACCOUNT_ID
from services.sync_worker.worker import MAX_CONCURRENT_ACTIVITIES, build_worker
from tests.integration.conftest import Api, stubs_for
from tests.integration.shop import SHOP_SQL, shop_job
from tests.integration.test_api import PASSWORD, expect_error
from veilsync.v1 import account_pb2 as a
from veilsync.v1 import connection_pb2 as c
from veilsync.v1 import connection_pb2_grpc, job_pb2_grpc
from veilsync.v1 import job_pb2 as j

TOTALS = {"public.customers": 60, "public.orders": 150, "public.order_items": 400}


@pytest.fixture
async def worker(api: Api) -> AsyncIterator[None]:
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
        async with build_worker(api.temporal, api.store, executor, api.settings.sync_task_queue):
            yield


def with_password(url: str) -> str:
    return url.replace("postgres@", f"postgres:{PASSWORD}@", 1)


async def shop_connections(api: Api, pg_database: Callable[[str], str]) -> str:
    source, destination = pg_database("src"), pg_database("dst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(SHOP_SQL)
    for name, url in (("prod", source), ("qa", destination)):
        await api.connections.CreateConnection(
            c.CreateConnectionRequest(name=name, url=with_password(url))
        )
    return source


def shop_api_job(**fields: object) -> j.Job:
    job = shop_job()
    job.source.connection = "prod"
    job.destinations.add(connection="qa", truncate_before_insert=True, init_schema=True)
    for name, value in fields.items():
        setattr(job, name, value)
    return job


def source_values(source: str) -> list[str]:
    with psycopg.connect(source) as conn:
        rows = conn.execute("SELECT email, first_name, last_name FROM customers").fetchall()
    return [value for row in rows for value in row if value and len(value) > 3]


async def test_a_full_run_reports_progress_events_and_leaks_nothing(
    api: Api,
    worker: None,
    pg_database: Callable[[str], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    source = await shop_connections(api, pg_database)
    responses: list[Message] = []
    job = (await api.jobs.CreateJob(j.CreateJobRequest(job=shop_api_job()))).job
    run = (await api.jobs.TriggerJobRun(j.TriggerJobRunRequest(job=j.JobRef(id=job.id)))).run
    responses += [job, run]

    async def poll() -> list[j.JobRunProgress]:
        seen = []
        while True:
            request = j.GetJobRunProgressRequest(run_id=run.id)
            progress = (await api.jobs.GetJobRunProgress(request)).progress
            seen.append(progress)
            if progress.status != j.RUN_STATUS_RUNNING:
                return seen
            await asyncio.sleep(0.05)

    async def watch() -> list[j.JobRunProgress]:
        request = j.WatchJobRunProgressRequest(run_id=run.id)
        return [reply.progress async for reply in api.jobs.WatchJobRunProgress(request)]

    polled, watched = await asyncio.wait_for(asyncio.gather(poll(), watch()), 120)
    for series in (polled, watched):
        responses += series
        for before, after in itertools.pairwise(series):
            assert after.rows_read >= before.rows_read
            assert after.rows_written >= before.rows_written
        final = series[-1]
        assert final.status == j.RUN_STATUS_SUCCEEDED
        assert {t.table: t.rows_written for t in final.tables} == TOTALS
        assert final.rows_read == final.rows_total == sum(TOTALS.values())
    assert len(watched) < len(polled) + 2  # sent on change only

    got = (await api.jobs.GetJobRun(j.GetJobRunRequest(run_id=run.id))).run
    assert got.status == j.RUN_STATUS_SUCCEEDED and not got.scheduled
    events = (await api.jobs.GetJobRunEvents(j.GetJobRunEventsRequest(run_id=run.id))).events
    kinds = {(e.table, e.kind) for e in events if e.activity == "sync_table"}
    for table in TOTALS:
        for kind in (
            j.TABLE_EVENT_KIND_SCHEDULED,
            j.TABLE_EVENT_KIND_STARTED,
            j.TABLE_EVENT_KIND_COMPLETED,
        ):
            assert (table, kind) in kinds
    listed = await api.jobs.ListJobRuns(
        j.ListJobRunsRequest(job=j.JobRef(id=job.id), status=j.RUN_STATUS_SUCCEEDED)
    )
    assert [r.id for r in listed.runs] == [run.id]
    none_running = await api.jobs.ListJobRuns(
        j.ListJobRunsRequest(job=j.JobRef(id=job.id), status=j.RUN_STATUS_RUNNING)
    )
    assert not none_running.runs
    await expect_error(
        api.jobs.CancelJobRun(j.CancelJobRunRequest(run_id=run.id)),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    schema = await api.connections.GetConnectionSchema(
        c.GetConnectionSchemaRequest(connection=c.ConnectionRef(name="prod"), exact_row_counts=True)
    )
    counts = {t.table: t.row_count for t in schema.tables}
    assert {name: counts[name] for name in TOTALS} == TOTALS
    check = await api.connections.CheckConnection(
        c.CheckConnectionRequest(
            connection=c.ConnectionRef(name="qa"), role=c.CONNECTION_ROLE_DESTINATION
        )
    )
    assert check.sufficient and {p.privilege for p in check.privileges} >= {
        "INSERT",
        "UPDATE",
        "TRUNCATE",
        "CREATE",
    }
    responses += [got, schema, check, listed, *events]

    history = await api.raw_temporal.get_workflow_handle(run.id).fetch_history()
    secrets = [PASSWORD, *source_values(source)]
    blobs = [
        history.to_json().encode(),
        *(r.SerializeToString() for r in responses),
        caplog.text.encode(),
    ]
    for secret in secrets:
        for blob in blobs:
            assert secret.encode() not in blob, secret


async def test_keys_and_accounts(api: Api, pg_database: Callable[[str], str]) -> None:
    await shop_connections(api, pg_database)
    job = (await api.jobs.CreateJob(j.CreateJobRequest(job=shop_api_job()))).job
    run = (await api.jobs.TriggerJobRun(j.TriggerJobRunRequest(job=j.JobRef(id=job.id)))).run
    assert (await api.accounts.GetAccount(a.GetAccountRequest())).account_id == "default"

    api.store.create_account("other")
    _, other_secret = api.store.api_keys.create("other", "theirs")
    channel, _ = stubs_for(api.settings.api, other_secret)
    try:
        jobs = job_pb2_grpc.JobServiceStub(channel)
        connections = connection_pb2_grpc.ConnectionServiceStub(channel)
        for call in (
            jobs.GetJob(j.GetJobRequest(job=j.JobRef(id=job.id))),
            jobs.GetJobRun(j.GetJobRunRequest(run_id=run.id)),
            jobs.TerminateJobRun(j.TerminateJobRunRequest(run_id=run.id)),
            connections.GetConnection(
                c.GetConnectionRequest(connection=c.ConnectionRef(name="prod"))
            ),
        ):
            await expect_error(call, grpc.StatusCode.NOT_FOUND)
        assert not (await jobs.ListJobs(j.ListJobsRequest())).jobs
    finally:
        await channel.close()

    created = await api.accounts.CreateApiKey(a.CreateApiKeyRequest(name="ci"))
    assert created.secret and created.api_key.prefix
    assert created.secret not in str(await api.accounts.ListApiKeys(a.ListApiKeysRequest()))
    api.key.secret = created.secret
    await api.jobs.GetJob(j.GetJobRequest(job=j.JobRef(id=job.id)))
    await api.accounts.RevokeApiKey(a.RevokeApiKeyRequest(id=created.api_key.id))
    await expect_error(
        api.jobs.GetJob(j.GetJobRequest(job=j.JobRef(id=job.id))), grpc.StatusCode.UNAUTHENTICATED
    )
    api.key.secret = ""
    await expect_error(api.jobs.ListJobs(j.ListJobsRequest()), grpc.StatusCode.UNAUTHENTICATED)
    api.key.secret = "vsk_wrong"
    await expect_error(api.jobs.ListJobs(j.ListJobsRequest()), grpc.StatusCode.UNAUTHENTICATED)


async def test_a_cron_job_starts_runs_and_pauses(
    api: Api, pg_database: Callable[[str], str]
) -> None:
    await shop_connections(api, pg_database)
    await expect_error(
        api.jobs.CreateJob(j.CreateJobRequest(job=shop_api_job(schedule="every day"))),
        grpc.StatusCode.INVALID_ARGUMENT,
        "job.schedule",
    )
    # No worker polls the queue: every run stays in flight, which shows the overlap policy.
    job = (
        await api.jobs.CreateJob(j.CreateJobRequest(job=shop_api_job(schedule="* * * * * * *")))
    ).job
    ref = j.JobRef(id=job.id)

    async def running() -> list[j.JobRun]:
        request = j.ListJobRunsRequest(job=ref, status=j.RUN_STATUS_RUNNING)
        return list((await api.jobs.ListJobRuns(request)).runs)

    await asyncio.sleep(3.2)
    first = await running()
    assert len(first) == 1 and first[0].scheduled  # SKIP: never two at once
    await expect_error(
        api.jobs.DeleteJob(j.DeleteJobRequest(job=ref)), grpc.StatusCode.FAILED_PRECONDITION
    )

    updated = await api.jobs.UpdateJob(
        j.UpdateJobRequest(
            job=ref,
            update=j.Job(allow_overlap=True),
            update_mask=field_mask_pb2.FieldMask(paths=["allow_overlap"]),
        )
    )
    assert updated.job.allow_overlap and updated.job.schedule == "* * * * * * *"
    await asyncio.sleep(2.5)
    assert len(await running()) >= 2
    paused = (await api.jobs.PauseJob(j.PauseJobRequest(job=ref))).job
    assert paused.paused
    schedule = await api.jobs.GetJobSchedule(j.GetJobScheduleRequest(job=ref))
    assert schedule.paused and len(schedule.recent_runs) >= 2
    count = len(await running())
    await asyncio.sleep(2.2)
    assert len(await running()) == count
    for run in await running():
        await api.jobs.TerminateJobRun(j.TerminateJobRunRequest(run_id=run.id, reason="test"))
    resumed = (await api.jobs.ResumeJob(j.ResumeJobRequest(job=ref))).job
    assert not resumed.paused
    cleared = await api.jobs.UpdateJob(
        j.UpdateJobRequest(
            job=ref, update=j.Job(), update_mask=field_mask_pb2.FieldMask(paths=["schedule"])
        )
    )
    assert not cleared.job.schedule
    for run in await running():
        await api.jobs.TerminateJobRun(j.TerminateJobRunRequest(run_id=run.id))
    await api.jobs.DeleteJob(j.DeleteJobRequest(job=ref))


async def test_update_and_validate(api: Api, pg_database: Callable[[str], str]) -> None:
    source = await shop_connections(api, pg_database)
    job = (await api.jobs.CreateJob(j.CreateJobRequest(job=shop_api_job()))).job
    ref = j.JobRef(id=job.id)
    clean = await api.jobs.ValidateJob(j.ValidateJobRequest(job=ref))
    assert clean.valid and not clean.violations

    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute("ALTER TABLE customers ADD COLUMN phone text")
    drift = await api.jobs.ValidateJob(j.ValidateJobRequest(job=ref))
    assert drift.valid
    assert [(v.kind, v.column) for v in drift.violations] == [
        (j.VIOLATION_KIND_UNMAPPED_NEW_COLUMN, "phone")
    ]

    bad = shop_api_job()
    bad.mappings[0].columns["nope"].null.SetInParent()
    bad.mappings[0].columns["id"].transform_email.SetInParent()
    report = await api.jobs.ValidateJob(j.ValidateJobRequest(spec=bad))
    assert not report.valid
    assert {v.kind for v in report.violations} >= {
        j.VIOLATION_KIND_UNKNOWN_COLUMN,
        j.VIOLATION_KIND_TYPE_MISMATCH,
    }

    update = j.Job(max_parallel_tables=2)
    update.run_options.activity_max_attempts = 3
    changed = await api.jobs.UpdateJob(
        j.UpdateJobRequest(
            job=ref,
            update=update,
            update_mask=field_mask_pb2.FieldMask(paths=["max_parallel_tables", "run_options"]),
        )
    )
    assert changed.job.max_parallel_tables == 2
    assert changed.job.run_options.activity_max_attempts == 3
    assert changed.job.mappings == job.mappings
    await expect_error(
        api.jobs.UpdateJob(
            j.UpdateJobRequest(
                job=ref, update=bad, update_mask=field_mask_pb2.FieldMask(paths=["mappings"])
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    await expect_error(
        api.jobs.UpdateJob(
            j.UpdateJobRequest(job=ref, update_mask=field_mask_pb2.FieldMask(paths=["name"]))
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "update_mask",
    )
    hooked = j.Job()
    hooked.hooks.add(url="https://hooks.invalid/veilsync")
    await expect_error(
        api.jobs.UpdateJob(
            j.UpdateJobRequest(
                job=ref, update=hooked, update_mask=field_mask_pb2.FieldMask(paths=["hooks"])
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "hook_secret",
    )
    with_hooks = await api.jobs.UpdateJob(
        j.UpdateJobRequest(
            job=ref,
            update=hooked,
            update_mask=field_mask_pb2.FieldMask(paths=["hooks"]),
            hook_secret="h" * 20,
        )
    )
    assert with_hooks.job.hooks[0].url == "https://hooks.invalid/veilsync"
    assert "h" * 20 not in str(with_hooks)

    moved = await api.connections.UpdateConnection(
        c.UpdateConnectionRequest(
            connection=c.ConnectionRef(name="qa"), url=f"postgresql://qa:{PASSWORD}@other.invalid/x"
        )
    )
    assert moved.connection.redacted_url == "postgresql://qa:***@other.invalid/x"
    await expect_error(
        api.connections.UpdateConnection(
            c.UpdateConnectionRequest(connection=c.ConnectionRef(name="qa"), url="sqlite:///x.db")
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )


async def test_a_run_refuses_a_job_pinned_to_a_transformer_version_it_lacks(
    api: Api, worker: None, pg_database: Callable[[str], str]
) -> None:
    await shop_connections(api, pg_database)
    job = (await api.jobs.CreateJob(j.CreateJobRequest(job=shop_api_job()))).job
    assert job.transformer_versions["transform_email"] == 1
    # As a release whose transform_email is at version 99 would have saved it.
    pinned = j.Job()
    pinned.CopyFrom(job)
    pinned.transformer_versions["transform_email"] = 99
    await asyncio.to_thread(api.store.update_job, DEFAULT_ACCOUNT_ID, pinned)
    ref = j.JobRef(id=job.id)
    run = (await api.jobs.TriggerJobRun(j.TriggerJobRunRequest(job=ref))).run
    with pytest.raises(WorkflowFailureError):
        await api.temporal.get_workflow_handle(run.id).result()
    failed = (await api.jobs.GetJobRun(j.GetJobRunRequest(run_id=run.id))).run
    assert failed.status == j.RUN_STATUS_FAILED
    assert "transform_email version 99 (this worker implements 1)" in failed.failure_message
    # A failed run reports no end of its own: its duration ends where the run closed, and
    # does not go on growing with the clock.
    request = j.GetJobRunProgressRequest(run_id=run.id)
    first, second = [(await api.jobs.GetJobRunProgress(request)).progress for _ in range(2)]
    assert first.status == j.RUN_STATUS_FAILED and first.elapsed == second.elapsed

    # Saving it unchanged is refused too; naming transformer_versions records this release's.
    def update(*paths: str) -> j.UpdateJobRequest:
        mask = field_mask_pb2.FieldMask(paths=paths)
        return j.UpdateJobRequest(job=ref, update=j.Job(max_parallel_tables=2), update_mask=mask)

    await expect_error(
        api.jobs.UpdateJob(update("max_parallel_tables")),
        grpc.StatusCode.FAILED_PRECONDITION,
        "transform_email version 99",
    )
    repinned = await api.jobs.UpdateJob(update("transformer_versions"))
    assert dict(repinned.job.transformer_versions) == dict(job.transformer_versions)
