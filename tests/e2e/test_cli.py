"""The CLI end to end: a shop synced into an empty database through a real stack."""

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from services.cli import sample_shop
from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

TRANSFORMS = {
    "email": "{transform_email: {preserve_domain: true}}",
    "first_name": "{transform_first_name: {}}",
    "last_name": "{transform_last_name: {}}",
    "phone": "{transform_hash: {}}",
    "ssn": "{null: {}}",
}
PRIMARY_KEYS = {"customers": "id", "orders": "id", "order_items": "id"}


def _job_yaml(name: str, source: str, destination: str, columns: dict[str, str]) -> str:
    lines = [
        f"name: {name}",
        f"source: {{connection: {source}}}",
        "destinations:",
        f"  - connection: {destination}",
        "    truncate_before_insert: true",
        "    init_schema: true",
        "mappings:",
        "  - table: public.customers",
        "    columns:",
        *(f"      {column}: {config}" for column, config in columns.items()),
    ]
    return "\n".join(lines) + "\n"


def _rows(url: str, table: str) -> dict[Any, dict[str, Any]]:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT * FROM {table}")
        names = [d.name for d in cur.description or ()]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def _public_tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return [r[0] for r in rows]


def _suffix() -> str:
    return uuid.uuid4().hex[:8]


def _shop(pg_database: Callable[[str], str]) -> tuple[str, sample_shop.Shop]:
    shop = sample_shop.build_shop()
    url = pg_database("shop")
    sample_shop.load_postgres(url, shop)
    return url, shop


def test_sync_through_the_cli(cli: Cli, pg_database: Callable[[str], str], tmp_path: Path) -> None:
    source, shop = _shop(pg_database)
    destination = pg_database("qa")
    tag = _suffix()
    prod, qa, job = f"prod-{tag}", f"qa-{tag}", f"shop-{tag}"
    cli.ok("connections", "create", "--name", prod, "--url", source)
    cli.ok("connections", "create", "--name", qa, "--url", destination)
    assert prod in cli.ok("connections", "list").stdout
    cli.ok("connections", "check", prod)

    job_file = tmp_path / "job.yaml"
    job_file.write_text(_job_yaml(job, prod, qa, TRANSFORMS))
    cli.ok("jobs", "create", "-f", str(job_file))
    assert f"name: {job}" in cli.ok("jobs", "get", job).stdout

    run = cli.ok("jobs", "run", job, "--wait", timeout=300)
    run_id = run.stdout.splitlines()[0].strip()
    assert "succeeded" in cli.ok("runs", "get", run_id).stdout

    progress = json.loads(cli.ok("runs", "progress", run_id, "--json").stdout)
    assert progress["status"] == "RUN_STATUS_SUCCEEDED"
    totals = {t["table"]: int(t["rows_total"]) for t in progress["tables"]}
    expected = {f"public.{name}": shop.count(name) for name in PRIMARY_KEYS}
    assert totals == expected
    assert int(progress["rows_total"]) == sum(expected.values())

    for table, key in PRIMARY_KEYS.items():
        before, after = _rows(source, table), _rows(destination, table)
        assert len(after) == len(before) == shop.count(table), table
        assert before.keys() == after.keys(), f"{table}: primary keys differ"
        transformed = set(TRANSFORMS) if table == "customers" else set()
        for pk, row in before.items():
            copied = after[pk]
            for column, value in row.items():
                if column not in transformed:
                    assert copied[column] == value, f"{table}.{column} changed for {key}={pk}"
                elif column == "ssn":
                    assert copied[column] is None, f"{table}.ssn kept a value for {key}={pk}"
                else:
                    assert copied[column] != value, f"{table}.{column} kept {value!r}"

    with psycopg.connect(destination) as conn:
        for child, column, parent in sample_shop.FOREIGN_KEYS:
            dangling = conn.execute(
                f"SELECT count(*) FROM {child} c LEFT JOIN {parent} p ON p.id = c.{column} "
                f"WHERE c.{column} IS NOT NULL AND p.id IS NULL"
            ).fetchone()
            assert dangling == (0,), f"{child}.{column} -> {parent}: {dangling} dangling"


def test_bad_input_is_refused_and_nothing_is_written(
    cli: Cli, pg_database: Callable[[str], str], tmp_path: Path
) -> None:
    source, _ = _shop(pg_database)
    destination = pg_database("qa")
    tag = _suffix()
    prod, qa, job = f"prod-{tag}", f"qa-{tag}", f"bad-{tag}"
    cli.ok("connections", "create", "--name", prod, "--url", source)
    cli.ok("connections", "create", "--name", qa, "--url", destination)
    job_file = tmp_path / "job.yaml"

    def refused(text: str, *names: str, codes: tuple[int, ...] = (2,)) -> None:
        job_file.write_text(text)
        result = cli("jobs", "create", "-f", str(job_file))
        assert result.returncode in codes, (result.returncode, result.stdout, result.stderr)
        assert result.stderr.startswith("error: ")
        for name in names:
            assert name in result.stderr, f"{name!r} not named in: {result.stderr}"
        gone = cli("jobs", "get", job)
        assert gone.returncode == 3, gone.stderr

    missing = cli("connections", "get", f"nope-{tag}")
    assert missing.returncode == 3 and f"nope-{tag}" in missing.stderr

    refused(_job_yaml(job, f"nope-{tag}", qa, {}), f"nope-{tag}", codes=(2, 3, 4))
    refused(_job_yaml(job, prod, f"gone-{tag}", {}), f"gone-{tag}", codes=(2, 3, 4))
    refused("name: [unclosed\nsource: {connection: x}\n", "malformed YAML", "line 2")
    refused(_job_yaml(job, prod, qa, {"ssn": "{nullify: {}}"}), "nullify")
    refused(_job_yaml(job, prod, qa, {"shoe_size": "{null: {}}"}), "shoe_size")
    refused(
        _job_yaml(job, prod, qa, {"email": "{null: {}}"}).replace(
            "public.customers", "public.clients"
        ),
        "public.clients",
    )
    refused(_job_yaml(job, prod, qa, {"email": "{}"}), "email")

    run = cli("jobs", "run", job)
    assert run.returncode == 3, run.stderr
    assert _public_tables(destination) == []
