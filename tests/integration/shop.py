"""The shop schema shared by the engine tests: its fixture, a job over it, and a direct
(no Temporal) sync helper."""

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from services.engine.connectors import open_database
from services.engine.copy.destinations import finish_destinations, prepare_destinations
from services.engine.copy.load_groups import load_groups, relaxed_loads
from services.engine.copy.table_copy import Destination, copy_table, fill_deferred_columns
from services.engine.planning.job_plan import check_plan, read_shape
from services.engine.planning.sync_plan import build_plan
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2, transformer_pb2

SHOP_SQL = (Path(__file__).parent / "shop_schema.sql").read_text()
KEY = b"engine-test-key-0123456789"


def shop_job() -> job_pb2.Job:
    job = job_pb2.Job(name="shop")
    mapping = job.mappings.add(table="customers")
    mapping.columns["email"].transform_email.preserve_domain = False
    mapping.columns["first_name"].transform_first_name.SetInParent()
    mapping.columns["last_name"].transform_last_name.SetInParent()
    mapping.columns["ssn"].null.SetInParent()
    mapping.columns["notes"].transform_hash.length = 16
    return job


class SourceOnly:
    """Planning's connections when every name is the one source database (ids are names)."""

    def __init__(self, url: str) -> None:
        self._url = url

    def connection_id_by_name(self, account_id: str, name: str) -> str:
        return name

    def connection_url(self, account_id: str, connection_id: str) -> str:
        return self._url

    def saved_transformer(
        self, account_id: str, name: str
    ) -> transformer_pb2.TransformerConfig | None:
        return None


def check_job(job: job_pb2.Job, source_url: str) -> None:
    """The check the API makes before it saves a job, against the database at source_url."""
    named = job_pb2.Job()
    named.CopyFrom(job)
    named.source.connection = named.source.connection or "src"
    check_plan(read_shape(named, "account", SourceOnly(source_url)))


@pytest.fixture
def shop(pg_database: Callable[[str], str]) -> tuple[str, str]:
    source, destination = pg_database("src"), pg_database("dst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(SHOP_SQL)
    return source, destination


def run_sync(
    source_url: str,
    destination_url: str,
    job: job_pb2.Job,
    destination: job_pb2.JobDestination | None = None,
) -> sync_pb2.SyncPlan:
    """The workflow's steps in order, in this process: plan, prepare, copy (a load group's
    tables as one), fill, finish."""
    source = open_database(source_url)
    options = destination or job_pb2.JobDestination(init_schema=True, truncate_before_insert=True)
    dest_plan = sync_pb2.DestinationPlan(
        init_schema=options.init_schema,
        truncate_before_insert=options.truncate_before_insert,
        on_conflict=options.on_conflict,
        schema_map=options.schema_map,
        table_map=options.table_map,
        skip_foreign_key_violations=options.skip_foreign_key_violations,
        init_schema_views=options.init_schema_views,
    )
    plan = build_plan(job, source.introspect(), "src", [dest_plan])
    targets = [Destination(open_database(destination_url), dest_plan)]
    prepare_destinations(source, targets, plan)
    reports: list[tuple[int, int]] = []
    for group in load_groups(plan.tables):
        with relaxed_loads(targets, group):
            for table in group:
                result = copy_table(
                    source,
                    targets,
                    table,
                    KEY,
                    lambda _, r, w: reports.append((r, w)),
                    chunk_rows=64,
                )
                assert result.rows_read == result.rows_written + result.rows_skipped
    for table in plan.tables:
        if table.deferred_columns:
            fill_deferred_columns(source, targets, table, KEY)
    finish_destinations(source, targets, plan)
    assert reports and all(r >= 0 for r, _ in reports)
    return plan


def execute(url: str, *statements: str) -> None:
    """Each statement run at `url`, committed."""
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def rows(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()
