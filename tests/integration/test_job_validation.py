"""ValidateJob and CreateJob through the real API: one check behind both, so a job file that
validates is one that saves, and the size limit on jobs."""

from collections.abc import Callable

import grpc

from services.engine.planning.where_clause import MAX_NESTING, MAX_WHERE_CHARS
from tests.integration.conftest import Api
from tests.integration.test_api import expect_error
from tests.integration.test_api_runs import shop_api_job, shop_connections
from veilsync.v1 import job_pb2 as j

# Subset where-clauses on the shop's customers, and whether a job with one may be saved.
WHERES = [
    # several statements, DDL and DML
    ("1=1; DROP TABLE customers", False),
    ("id < 10; DELETE FROM customers", False),
    ("DROP TABLE customers", False),
    ("UPDATE customers SET ssn = NULL", False),
    # subqueries
    ("id IN (SELECT customer_id FROM orders)", False),
    ("EXISTS (SELECT 1 FROM orders)", False),
    # functions off the allowlist: slow, with side effects, reading the server or random
    ("pg_sleep(10) IS NULL", False),
    ("length(repeat(email, 1000000)) > 0", False),
    ("lpad(email, 100000000) = ''", False),
    ("generate_series(1, 10) = id", False),
    ("random() < 0.5", False),
    ("nextval('customers_id_seq') > 0", False),
    ("pg_read_file('/etc/passwd') = ''", False),
    ("set_config('statement_timeout', '0', false) = ''", False),
    ("count(*) > 0", False),
    ("row_number() OVER () > 1", False),
    ("no_such_function(id) = 1", False),
    # operators and forms off the allowlist
    ("email ~ '(a+)+b'", False),
    ("id = $1", False),
    ("CAST(id AS order_status) IS NULL", False),
    # malformed: unterminated comments and strings, no boolean, bad syntax, empty
    ("id < 1 /* unterminated", False),
    ("email = 'unterminated", False),
    ("42", False),
    ("id <", False),
    ("", False),
    # columns that are not the table's
    ("nope = 1", False),
    ("orders.id = 1", False),
    # too deep, too long
    ("(" * 60 + "id = 1" + ")" * 60, False),
    ("id = 1 OR " * (MAX_WHERE_CHARS // 10 + 1) + "id = 2", False),
    # fine
    ("id <= 10", True),
    ("lower(email) LIKE 'user1%' AND notes IS NOT NULL", True),
    ("created_at > now() - interval '30 days' OR id % 2 = 0", True),
    ("extract(year FROM created_at) >= 2000 AND coalesce(ssn, '') <> ''", True),
    ("id < 10 -- a comment is dropped when the clause is written back", True),
    ("(" * (MAX_NESTING // 2) + "id = 1" + ")" * (MAX_NESTING // 2), True),
]


async def test_validate_reports_an_error_exactly_when_create_refuses(
    api: Api, pg_database: Callable[[str], str]
) -> None:
    await shop_connections(api, pg_database)
    mismatches = []
    for i, (where, saves) in enumerate(WHERES):
        job = shop_api_job(name=f"parity-{i}")
        job.source.subset_by_foreign_keys = True
        job.source.subsets.add(table="customers", where=where)
        report = await api.jobs.ValidateJob(j.ValidateJobRequest(spec=job))
        errors = [v for v in report.violations if v.severity == j.VIOLATION_SEVERITY_ERROR]
        try:
            await api.jobs.CreateJob(j.CreateJobRequest(job=job))
            refusal = None
        except grpc.aio.AioRpcError as err:
            assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (where, err.details())
            refusal = err.details()
        # Saved exactly when valid, and refused with the first error the report lists.
        first = f"{errors[0].field}: {errors[0].description}" if errors else None
        if (report.valid, refusal, refusal is None) != (saves, first, saves):
            mismatches.append((where[:80], report.valid, first, refusal))
        elif errors:
            assert errors[0].field == "job.source.subsets[0].where", errors[0]
    assert not mismatches, "\n".join(map(repr, mismatches))


async def test_a_subset_of_an_unknown_table_is_refused_by_both(
    api: Api, pg_database: Callable[[str], str]
) -> None:
    await shop_connections(api, pg_database)
    job = shop_api_job()
    job.source.subsets.add(table="nowhere", where="id < 1")
    report = await api.jobs.ValidateJob(j.ValidateJobRequest(spec=job))
    assert not report.valid
    assert report.violations[0].field == "job.source.subsets[0].table"
    details = await expect_error(
        api.jobs.CreateJob(j.CreateJobRequest(job=job)), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert details == f"{report.violations[0].field}: {report.violations[0].description}"


def _oversized() -> j.Job:
    """A job just over the default limit (1,000,000 bytes encoded), well-formed otherwise."""
    job = shop_api_job()
    job.source.subsets.add(table="customers", where="id < 1" + " " * 1_000_000)
    return job


async def test_a_job_over_the_size_limit_is_refused_before_it_is_parsed(
    api: Api, pg_database: Callable[[str], str]
) -> None:
    await shop_connections(api, pg_database)
    big = _oversized()
    size = f"{big.ByteSize():,} bytes, over the limit of 1,000,000 bytes"
    for call, field in (
        (api.jobs.CreateJob(j.CreateJobRequest(job=big)), "job"),
        (api.jobs.ValidateJob(j.ValidateJobRequest(spec=big)), "spec"),
    ):
        details = await expect_error(call, grpc.StatusCode.INVALID_ARGUMENT, size)
        assert details.startswith(f"{field}: ") and "VEILSYNC_MAX_JOB_BYTES" in details
    assert not (await api.jobs.ListJobs(j.ListJobsRequest())).jobs

    stored = (await api.jobs.CreateJob(j.CreateJobRequest(job=shop_api_job()))).job
    update = j.UpdateJobRequest(job=j.JobRef(id=stored.id), update=big)
    update.update_mask.paths.append("source")
    await expect_error(api.jobs.UpdateJob(update), grpc.StatusCode.INVALID_ARGUMENT, "update: ")
    after = (await api.jobs.GetJob(j.GetJobRequest(job=j.JobRef(id=stored.id)))).job
    assert after.source == stored.source


async def test_grpc_refuses_a_message_past_its_own_limit(api: Api) -> None:
    # gRPC's default 4 MiB stays the outer fence while the job limit is below it.
    job = shop_api_job()
    job.source.subsets.add(table="customers", where=" " * (5 * 1024 * 1024))
    await expect_error(
        api.jobs.ValidateJob(j.ValidateJobRequest(spec=job)), grpc.StatusCode.RESOURCE_EXHAUSTED
    )
