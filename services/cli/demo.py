"""`veilsync demo`: a shop database anonymized into a QA copy, start to finish.

It runs its own stack in <data_dir>/demo, fresh each time, so reruns never meet the
connections and job of an earlier run, and stops that stack whatever happens.

Its PostgreSQL databases are named after that directory (or --name), so two people sharing
one server each drop and recreate only their own; and it checks the stack's ports before it
drops anything, so a demo that cannot start leaves every database as it was.
"""

import hashlib
import re
import shutil
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import psycopg
from psycopg import sql
from rich.table import Table

from services.cli import dev, sample_shop, stack
from services.cli.api_client import DEFAULT_TIMEOUT_S, open_api
from services.cli.context import CliContext, pass_cli
from services.cli.jobfile import parse_job
from services.cli.output import err, out, table
from services.cli.run_watch import print_summary, raise_unless_succeeded, wait_for_run
from services.common.settings import Settings
from veilsync.v1 import connection_pb2, job_pb2

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
# A --name becomes part of two database names: kept short and plain so it needs no quoting
# in anything a user types, and both names stay under PostgreSQL's 63 bytes.
NAME_PATTERN = re.compile(r"[a-z0-9_]{1,32}")

JOB_FILE = """\
name: shop-to-qa
source: {connection: prod}
destinations:
  - connection: qa
    truncate_before_insert: true
    init_schema: true
mappings:
  - table: customers
    columns:
      email: {transform_email: {preserve_domain: true}}
      first_name: {transform_first_name: {}}
      last_name: {transform_last_name: {}}
      ssn: {null: {}}
      phone: {transform_hash: {length: 12}}
"""
TRANSFORMED = ("email", "first_name", "last_name", "ssn", "phone")


def database_names(data_dir: Path, name: str = "") -> tuple[str, str]:
    """The demo's source and destination database names on a shared PostgreSQL server.

    Without a name, a short hash of the resolved data directory: stable across reruns of
    one checkout (which replace their own databases), different for every other checkout.
    """
    tag = name or hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:10]
    return f"veilsync_demo_{tag}_src", f"veilsync_demo_{tag}_dst"


def _postgres_databases(admin_url: str, names: Sequence[str]) -> list[str] | None:
    """Fresh databases of these names, or None when PostgreSQL is not reachable."""
    try:
        conn = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        return None
    with conn:
        for name in names:
            # FORCE: an interrupted demo of this same data dir may have left sessions open.
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = admin_url.rsplit("/", 1)[0]
    return [f"{base}/{name}" for name in names]


def _sqlite_files(data_dir: Path) -> tuple[Path, Path]:
    source, destination = data_dir / "shop.db", data_dir / "shop_qa.db"
    # An empty QA database, as CREATE DATABASE makes one on PostgreSQL: a sync writes into
    # a database that exists and never creates one where a mistyped path points.
    sqlite3.connect(destination).close()
    return source, destination


def prepare_databases(settings: Settings, admin_url: str | None, name: str = "") -> tuple[str, str]:
    """Source and destination URLs, the source filled with the sample shop.

    PostgreSQL at admin_url when it answers, SQLite files in the data dir otherwise (or
    when admin_url is None).
    """
    shop = sample_shop.build_shop()
    names = database_names(settings.data_dir, name)
    urls = None if admin_url is None else _postgres_databases(admin_url, names)
    if urls is not None:
        sample_shop.load_postgres(urls[0], shop)
        err.print(f"source: PostgreSQL database {names[0]}, destination {names[1]}")
        return urls[0], urls[1]
    source, destination = _sqlite_files(settings.data_dir)
    sample_shop.load_sqlite(str(source), shop)
    why = "--sqlite given" if admin_url is None else f"PostgreSQL not reachable at {admin_url}"
    err.print(f"{why}; using SQLite files in {settings.data_dir}")
    # data_dir is absolute here, so these read sqlite:///abs/path, the form the proto documents.
    return f"sqlite://{source}", f"sqlite://{destination}"


def fetch(url: str, sql: str) -> list[tuple[Any, ...]]:
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(urlsplit(url).path)
        try:
            return list(conn.execute(sql).fetchall())
        finally:
            conn.close()
    with psycopg.connect(url) as pg:
        return list(pg.execute(sql).fetchall())


def _examples(source: str, destination: str) -> Table:
    columns = ", ".join(TRANSFORMED)
    sql = f"SELECT id, {columns} FROM customers ORDER BY id LIMIT 3"
    before, after = fetch(source, sql), {row[0]: row for row in fetch(destination, sql)}
    grid = table("customer", "column", "before (prod)", "after (qa)", title="customers")
    for row in before:
        for index, column in enumerate(TRANSFORMED, start=1):
            new = after.get(row[0])
            grid.add_row(str(row[0]), column, _show(row[index]), _show(new[index] if new else "-"))
    return grid


def _show(value: object) -> str:
    return "NULL" if value is None else str(value)


def _counts(url: str, tables: Sequence[str]) -> dict[str, int]:
    return {t: int(fetch(url, f"SELECT count(*) FROM {t}")[0][0]) for t in tables}


def run_demo(settings: Settings, admin_url: str | None, name: str = "") -> None:
    """The whole demo; admin_url None means SQLite files instead of PostgreSQL."""
    stack.down(settings)  # a demo stack an earlier, interrupted demo left behind
    # Before anything is dropped: a port taken by another stack would stop the demo after it
    # had replaced the databases.
    stack.check_ports(stack.services(settings))
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    settings.data_dir.mkdir(parents=True)
    source, destination = prepare_databases(settings, admin_url, name)
    dev.start(settings)
    try:
        with open_api(settings) as api:
            for name, url in (("prod", source), ("qa", destination)):
                api.connections.CreateConnection(
                    connection_pb2.CreateConnectionRequest(name=name, url=url),
                    timeout=DEFAULT_TIMEOUT_S,
                )
            out.print("job file:\n" + JOB_FILE)
            job = parse_job(JOB_FILE, "demo job")
            api.jobs.CreateJob(job_pb2.CreateJobRequest(job=job), timeout=DEFAULT_TIMEOUT_S)
            began = time.monotonic()
            run = api.jobs.TriggerJobRun(
                job_pb2.TriggerJobRunRequest(job=job_pb2.JobRef(name=job.name)),
                timeout=DEFAULT_TIMEOUT_S,
            ).run
            err.print(f"run {run.id} started")
            outcome = wait_for_run(api, run.id, timeout_s=300)
        print_summary(outcome)
        raise_unless_succeeded(outcome.run)
        elapsed = time.monotonic() - began
        tables = [name.split(".", 1)[1] for name in sample_shop.TABLES]
        counts = table("table", "rows in prod", "rows in qa")
        before, after = _counts(source, tables), _counts(destination, tables)
        for t in tables:
            counts.add_row(t, str(before[t]), str(after[t]))
        out.print(counts)
        out.print(_examples(source, destination))
        out.print(f"synced {len(tables)} tables in {elapsed:.1f}s")
    finally:
        dev.stop(settings)


def _check_name(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if value and not NAME_PATTERN.fullmatch(value):
        raise click.BadParameter("use 1 to 32 lowercase letters, digits or underscores")
    return value


@click.command("demo")
@click.option(
    "--postgres",
    "admin_url",
    envvar="VEILSYNC_DEMO_PG",
    show_envvar=True,
    default=DEFAULT_PG,
    show_default=True,
    help="PostgreSQL URL the demo creates its databases with; SQLite when it does not answer.",
)
@click.option("--sqlite", is_flag=True, help="Use SQLite files even when PostgreSQL answers.")
@click.option(
    "--name",
    default="",
    callback=_check_name,
    help="Names the demo's databases veilsync_demo_<name>_src/_dst  "
    "[default: a hash of the data dir]",
)
@pass_cli
def demo(cli: CliContext, admin_url: str, sqlite: bool, name: str) -> None:
    """Create a sample shop, anonymize it into a QA copy, show before/after, stop."""
    # The demo's fresh stack writes its own key file; a key given for another stack would be
    # refused by it.
    settings = cli.settings.model_copy(
        update={"data_dir": cli.settings.data_dir / "demo", "api_key": ""}
    )
    run_demo(stack.resolved(settings), None if sqlite else admin_url, name)
