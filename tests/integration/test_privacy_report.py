"""Every sync run reports what it protected, through the API and `veilsync runs report`, and a
job's privacy policy fails the run on the findings it names. Real runs: the API, the sync
worker in-process on its task queue, PostgreSQL on both sides."""

import asyncio
import json
from collections.abc import Callable
from typing import cast

import grpc
import pytest
from click.testing import CliRunner
from google.protobuf import json_format

from services.cli.main import cli
from services.engine.connectors import open_database
from services.engine.connectors.base import Database
from services.engine.copy.table_copy import Destination, copy_table
from services.engine.planning.sync_plan import build_plan
from tests.integration.conftest import Api
from tests.integration.shop import KEY, rows, shop_job
from tests.integration.test_api import expect_error
from tests.integration.test_api_runs import (
    shop_api_job,
    worker,  # noqa: F401 - the fixture the runs below use: commits every 100k rows
)
from tests.integration.test_engine_postgres import FailingSource, SourceLost
from tests.integration.test_run_verification import connections, run_to_end
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2 as j
from veilsync.v1 import transformer_pb2 as t


async def veilsync(api: Api, *args: str) -> str:
    """The CLI against the test API, off the event loop that serves it; must exit 0."""
    argv = ["--api", api.settings.api, "--api-key", api.key.secret, *args]
    result = await asyncio.to_thread(CliRunner().invoke, cli, argv)
    assert result.exit_code == 0, result.output
    return result.output


def column_of(report: j.PrivacyReport, table: str, column: str) -> j.ColumnPrivacy:
    entry = next(e for e in report.tables if e.table == table)
    return next(c for c in entry.columns if c.column == column)


def kinds(report: j.PrivacyReport) -> list[tuple[str, str, str, bool]]:
    return [(f.kind, f.table, f.column, f.fails_run) for f in report.findings]


def prod_to_qa(name: str, table: str) -> tuple[j.Job, j.TableMapping]:
    """A job copying one table from "prod" into a fresh "qa", and that table's mapping."""
    job = j.Job(name=name, source=j.JobSource(connection="prod"))
    job.destinations.add(connection="qa", truncate_before_insert=True, init_schema=True)
    return job, job.mappings.add(table=table)


def forgetting_email(name: str) -> j.Job:
    job = shop_api_job(name=name)
    del job.mappings[0].columns["email"]
    return job


@pytest.mark.usefixtures("worker")
async def test_a_forgotten_email_is_pii_in_clear_and_fails_the_run_under_the_policy(
    api: Api, pg_database: Callable[[str], str]
) -> None:
    source, _ = await connections(api, pg_database)

    run = await run_to_end(api, forgetting_email("forgetful"))

    assert run.status == j.RUN_STATUS_SUCCEEDED, run.failure_message
    report = run.verification.privacy
    email = column_of(report, "public.customers", "email")
    assert (email.transformer, email.pii_kind, email.values_sampled) == ("", "email", 60)
    in_clear = [k for k in kinds(report) if k[0] == "pii_in_clear"]
    assert in_clear == [("pii_in_clear", "public.customers", "email", False)]
    # The transformed columns say what their transformers kept: nothing.
    for name in ("first_name", "last_name"):
        counted = column_of(report, "public.customers", name)
        assert (counted.unchanged, counted.compared) == (0, 60), name
    shown = await veilsync(api, "runs", "report", run.id)
    assert "warning: pii_in_clear: public.customers.email is copied in clear and reads as" in shown
    printed = await veilsync(api, "runs", "report", run.id, "--json")
    assert json_format.ParseDict(json.loads(printed), j.PrivacyReport()) == report
    # Counts, kinds and names only: no value of the source is in the report.
    emails = [r[0] for r in rows(source, "SELECT email FROM customers")]
    assert not [e for e in emails if e in printed]

    strict = forgetting_email("strict")
    strict.privacy.fail_on.append("pii_in_clear")
    run = await run_to_end(api, strict)

    assert run.status == j.RUN_STATUS_FAILED
    assert "pii_in_clear: public.customers.email is copied in clear" in run.failure_message
    in_clear = [k for k in kinds(run.verification.privacy) if k[0] == "pii_in_clear"]
    assert in_clear == [("pii_in_clear", "public.customers", "email", True)]
    shown = await veilsync(api, "runs", "get", run.id)
    assert "failed:  pii_in_clear: public.customers.email is copied in clear" in shown
    assert "privacy: " in shown and "1 failing the run" in shown


KEYED = """
CREATE TABLE keyed (
    id bigint PRIMARY KEY, hash text, email text, first_name text, last_name text,
    full_name text, e164 text, phone text, int_phone bigint, string text, int64 bigint,
    float64 numeric(14, 4), scramble text, uuid uuid, identity bigint, flag boolean);
INSERT INTO keyed
SELECT i, 'value' || i, 'user' || i || '@corp' || (i % 97) || '.test', 'Name' || i, 'Last' || i,
       'Ann' || i || ' Lee' || i, '+1555' || lpad(i::text, 7, '0'),
       '555-' || lpad((i / 10000)::text, 3, '0') || '-' || lpad((i % 10000)::text, 4, '0'),
       5550000000 + i, 's' || i, i, i / 7.0, lpad(i::text, 6, '0'),
       ('00000000-0000-0000-0000-' || lpad(to_hex(i), 12, '0'))::uuid, i, i % 2 = 0
FROM generate_series(1, 100000) AS i;
ANALYZE;
"""
# Every keyed transformer that derives a replacement from the value, on a column of 100k
# distinct values it accepts; int64 and float64 with offset ranges that exclude 0. Each job
# gets a fresh random key, so each run samples the keys a user could get: a transformer that
# only happens to change every value (a keyed permutation has about one fixed point) fails
# here for some of them.
REPLACING = {
    "hash": t.TransformerConfig(transform_hash=t.TransformHash()),
    "email": t.TransformerConfig(transform_email=t.TransformEmail()),
    "first_name": t.TransformerConfig(transform_first_name=t.TransformFirstName()),
    "last_name": t.TransformerConfig(transform_last_name=t.TransformLastName()),
    "full_name": t.TransformerConfig(transform_full_name=t.TransformFullName()),
    "e164": t.TransformerConfig(transform_e164_phone_number=t.TransformE164PhoneNumber()),
    "phone": t.TransformerConfig(transform_phone_number=t.TransformPhoneNumber()),
    "int_phone": t.TransformerConfig(transform_int64_phone_number=t.TransformInt64PhoneNumber()),
    "string": t.TransformerConfig(transform_string=t.TransformString()),
    "int64": t.TransformerConfig(
        transform_int64=t.TransformInt64(randomization_range_min=1, randomization_range_max=999)
    ),
    "float64": t.TransformerConfig(
        transform_float64=t.TransformFloat64(
            randomization_range_min=0.5, randomization_range_max=99
        )
    ),
    "scramble": t.TransformerConfig(transform_character_scramble=t.TransformCharacterScramble()),
    "uuid": t.TransformerConfig(transform_uuid=t.TransformUuid()),
    "identity": t.TransformerConfig(transform_scramble_identity=t.TransformScrambleIdentity()),
}


@pytest.mark.usefixtures("worker")
async def test_keyed_transformers_leave_no_value_unchanged_over_100k_distinct_inputs(
    api: Api, pg_database: Callable[[str], str]
) -> None:
    await connections(api, pg_database, KEYED)
    job, mapping = prod_to_qa("keyed", "public.keyed")
    for column, config in REPLACING.items():
        mapping.columns[column].CopyFrom(config)
    # A generator draws from its own domain: a draw equal to the input is chance.
    mapping.columns["flag"].generate_bool.SetInParent()

    run = await run_to_end(api, job)

    assert run.status == j.RUN_STATUS_SUCCEEDED, run.failure_message
    report = run.verification.privacy
    counted = {
        c.column: (c.transformer, c.unchanged, c.compared)
        for c in report.tables[0].columns
        if c.column in REPLACING
    }
    assert counted == {
        column: (config.WhichOneof("config"), 0, 100_000) for column, config in REPLACING.items()
    }
    # Two input values, each drawn true or false by the key: none, half or all of the flags
    # stay as they were, by chance, which the report shows without a finding.
    flag = column_of(report, "public.keyed", "flag")
    assert flag.unchanged in (0, 50_000, 100_000) and flag.compared == 100_000
    assert not [f for f in report.findings if f.kind == "unchanged_values"]


def test_a_resumed_copy_counts_every_row_once(shop: tuple[str, str]) -> None:
    """Counts committed with a chunk travel in its checkpoint; the retry goes on from them."""
    source_url, destination_url = shop
    source, destination = open_database(source_url), open_database(destination_url)
    dest_plan = sync_pb2.DestinationPlan(init_schema=True)
    plan = build_plan(shop_job(), source.introspect(), "src", [dest_plan])
    destination.create_tables(list(source.introspect().tables.values()), source.engine)
    customers, targets = plan.tables[0], [Destination(destination, dest_plan)]
    checkpoints: list[sync_pb2.TableCheckpoint] = []

    flaky = cast(Database, FailingSource(source, rows=40))
    with pytest.raises(SourceLost):
        copy_table(flaky, targets, customers, KEY, lambda c, *_: checkpoints.append(c), None, 16)
    assert checkpoints[-1].rows_read == 32
    result = copy_table(source, targets, customers, KEY, lambda *_: None, checkpoints[-1], 16)

    assert result.rows_resumed == 32
    # ssn is nulled: nothing to compare; notes is NULL in a third of the rows.
    counted = {c.column: (c.unchanged, c.compared) for c in result.unchanged}
    assert counted == {
        "first_name": (0, 60),
        "last_name": (0, 60),
        "email": (0, 60),
        "ssn": (0, 0),
        "notes": (0, 40),
    }


MEMBERS = """
CREATE TABLE members (
    id bigint PRIMARY KEY, tier text NOT NULL, level text NOT NULL, nickname text NOT NULL);
INSERT INTO members
SELECT i, 'tier-' || (i % 10), 'level-' || (i % 10), 'nick' || i
FROM generate_series(1, 1000) AS i;
ANALYZE;
"""


@pytest.mark.usefixtures("worker")
async def test_a_ten_value_column_transformed_deterministically_gets_the_frequency_warning(
    api: Api, pg_database: Callable[[str], str]
) -> None:
    await connections(api, pg_database, MEMBERS)
    job, mapping = prod_to_qa("members", "public.members")
    columns = mapping.columns
    for column in ("tier", "level", "nickname"):
        columns[column].transform_hash.SetInParent()
    # A key drawn for the run changes the outputs from run to run, not their frequencies.
    columns["level"].random = True

    run = await run_to_end(api, job)

    assert run.status == j.RUN_STATUS_SUCCEEDED, run.failure_message
    report = run.verification.privacy
    linked = [f for f in report.findings if f.kind == "frequency_linkage"]
    assert [(f.column, f.fails_run) for f in linked] == [("tier", False), ("level", False)]
    assert "10 distinct values in 1,000 sampled rows" in linked[0].message
    tier, nickname = (column_of(report, "public.members", c) for c in ("tier", "nickname"))
    assert (tier.distinct_values, tier.values_sampled) == (10, 1000)
    assert (nickname.distinct_values, nickname.values_sampled) == (1000, 1000)


# Grouped by (zip, birth_date, gender): 5 + 3 + 2 + 1 + 1 rows, the last with no zip.
PATIENTS = """
CREATE TABLE patients (
    id bigint PRIMARY KEY, full_name text NOT NULL, zip text, birth_date date, gender text,
    diagnosis text);
INSERT INTO patients (id, full_name, zip, birth_date, gender, diagnosis) VALUES
    (1, 'Patient 1', '10001', '1980-01-01', 'F', 'flu'),
    (2, 'Patient 2', '10001', '1980-01-01', 'F', 'flu'),
    (3, 'Patient 3', '10001', '1980-01-01', 'F', 'flu'),
    (4, 'Patient 4', '10001', '1980-01-01', 'F', 'flu'),
    (5, 'Patient 5', '10001', '1980-01-01', 'F', 'flu'),
    (6, 'Patient 6', '10001', '1980-01-01', 'M', 'flu'),
    (7, 'Patient 7', '10001', '1980-01-01', 'M', 'flu'),
    (8, 'Patient 8', '10001', '1980-01-01', 'M', 'flu'),
    (9, 'Patient 9', '10002', '1975-05-05', 'F', 'flu'),
    (10, 'Patient 10', '10002', '1975-05-05', 'F', 'flu'),
    (11, 'Patient 11', '10003', '1990-09-09', 'M', 'flu'),
    (12, 'Patient 12', NULL, '1990-09-09', 'M', 'flu');
"""


def patients_job(name: str) -> j.Job:
    job, mapping = prod_to_qa(name, "public.patients")
    mapping.columns["full_name"].transform_full_name.SetInParent()
    return job


@pytest.mark.usefixtures("worker")
async def test_k_anonymity_over_detected_and_declared_quasi_identifiers(
    api: Api, pg_database: Callable[[str], str]
) -> None:
    await connections(api, pg_database, PATIENTS)

    run = await run_to_end(api, patients_job("patients"))

    assert run.status == j.RUN_STATUS_SUCCEEDED, run.failure_message
    report = run.verification.privacy
    assert report.tables[0].k_anonymity == j.KAnonymity(
        columns=["zip", "birth_date", "gender"],
        declared=False,
        k=1,
        rows=12,
        unique_rows=2,
        groups=5,
    )
    # Zip code and birth date, left in clear, read as personal data on their own too.
    assert kinds(report) == [
        ("pii_in_clear", "public.patients", "zip", False),
        ("pii_in_clear", "public.patients", "birth_date", False),
        ("k_anonymity", "public.patients", "", False),
    ]
    assert "2 of 12 rows (16.7%) are alone in their group" in report.findings[-1].message
    shown = await veilsync(api, "runs", "report", run.id)
    assert "zip, birth_date, gender (detected)" in shown

    # Gender alone: 7 women and 5 men, so k = 5, short of the 6 the job asks for.
    declared = patients_job("patients-by-gender")
    declared.privacy.quasi_identifiers.add(table="patients", columns=["gender"])
    declared.privacy.min_k = 6
    run = await run_to_end(api, declared)

    assert run.status == j.RUN_STATUS_FAILED
    assert run.verification.privacy.tables[0].k_anonymity == j.KAnonymity(
        columns=["gender"], declared=True, k=5, rows=12, unique_rows=0, groups=2
    )
    assert "k_anonymity: public.patients: k = 5 over gender (declared), below 6" in (
        run.failure_message
    )


async def test_a_policy_naming_what_cannot_be_is_refused_at_create(
    api: Api, pg_database: Callable[[str], str]
) -> None:
    await connections(api, pg_database, PATIENTS)
    cases = {
        "job.privacy.fail_on[1]": lambda p: p.fail_on.extend(["pii_in_clear", "pii_in_clr"]),
        "job.privacy.min_k": lambda p: setattr(p, "min_k", -1),
        "job.privacy.quasi_identifiers[0].table": lambda p: p.quasi_identifiers.add(
            table="public.nope", columns=["zip"]
        ),
        "job.privacy.quasi_identifiers[0].columns[1]": lambda p: p.quasi_identifiers.add(
            table="patients", columns=["zip", "postcode"]
        ),
    }
    for field, spoil in cases.items():
        job = patients_job("refused")
        spoil(job.privacy)
        call = api.jobs.CreateJob(j.CreateJobRequest(job=job))
        await expect_error(call, grpc.StatusCode.INVALID_ARGUMENT, field)
    listed = await api.jobs.ListJobs(j.ListJobsRequest())
    assert not listed.jobs
