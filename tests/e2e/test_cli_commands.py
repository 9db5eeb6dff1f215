"""The CLI's inspection and admin commands end to end, and how it fails without a good key."""

import importlib.util
import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from services.cli.jobfile import parse_job
from tests.e2e.conftest import Cli, shop_connections

pytestmark = pytest.mark.e2e

EXIT_UNAUTHENTICATED = 7


def _job_yaml(name: str, source: str, destination: str) -> str:
    return (
        f"name: {name}\n"
        f"source: {{connection: {source}}}\n"
        "destinations:\n"
        f"  - {{connection: {destination}, truncate_before_insert: true, init_schema: true}}\n"
        "mappings:\n"
        "  - table: public.customers\n"
        "    columns: {email: {transform_email: {}}, ssn: {null: {}}}\n"
    )


def test_jobs_runs_connections_and_transformers(
    cli: Cli, pg_database: Callable[[str], str], tmp_path: Path
) -> None:
    tag, _, prod, qa = shop_connections(cli, pg_database)
    job = f"cmds-{tag}"

    check = json.loads(cli.ok("connections", "check", prod, "--role", "source", "--json").stdout)
    assert check["reachable"] and check["sufficient"] and check["privileges"], check
    assert "PRIVILEGE" in cli.ok("connections", "check", qa, "--role", "destination").stdout
    schema = json.loads(cli.ok("connections", "schema", prod, "--json").stdout)
    assert {"public.customers", "public.orders"} <= {t["table"] for t in schema["tables"]}

    preview = cli.ok(
        "transformers", "preview", "--config", '{"transform_email": {}}', "--json",
        "ann@example.com", "bob@example.org",
    )  # fmt: skip
    outputs = [o["value"] for o in json.loads(preview.stdout)["outputs"]]
    assert len(outputs) == 2 and "ann@example.com" not in outputs and all("@" in o for o in outputs)
    assert "transform_email" in cli.ok("transformers", "list").stdout
    bad = cli("transformers", "preview", "--config", '{"no_such": {}}', "x")
    assert bad.returncode == 2 and "--config" in bad.stderr, bad.stderr

    job_file = tmp_path / "job.yaml"
    job_file.write_text(_job_yaml(job, prod, qa))
    cli.ok("jobs", "create", "-f", str(job_file))
    assert "is valid" in cli.ok("jobs", "validate", job).stdout
    job_file.write_text(f"name: {job}\nmax_parallel_tables: 2\n")
    assert "max_parallel_tables" in cli.ok("jobs", "update", "-f", str(job_file)).stdout
    assert "max_parallel_tables: 2" in cli.ok("jobs", "get", job).stdout
    # Versions in a file are output only: the API's own are recorded, and only when asked.
    job_file.write_text(f"name: {job}\ntransformer_versions: {{transform_email: 99}}\n")
    repin = cli.ok("jobs", "update", "-f", str(job_file), "--record-transformer-versions")
    assert repin.stdout.strip() == f"updated job {job}: transformer_versions"
    assert "transform_email: 1" in cli.ok("jobs", "get", job).stdout

    run_id = cli.ok("jobs", "run", job).stdout.splitlines()[0].strip()
    assert run_id.startswith("run-")
    assert "succeeded" in cli.ok("runs", "watch", run_id, "--timeout", "240", timeout=300).stdout

    listed = json.loads(cli.ok("runs", "list", "--job", job, "--json").stdout)
    assert [r["id"] for r in listed["runs"]] == [run_id]
    succeeded = json.loads(cli.ok("runs", "list", "--status", "succeeded", "--json").stdout)
    assert run_id in [r["id"] for r in succeeded["runs"]]
    failed = json.loads(cli.ok("runs", "list", "--job", job, "--status", "failed", "--json").stdout)
    assert failed["runs"] == []
    events = json.loads(cli.ok("runs", "events", run_id, "--json").stdout)["events"]
    completed = {e["table"] for e in events if e["kind"] == "TABLE_EVENT_KIND_COMPLETED"}
    assert "public.customers" in completed, events
    cancel = cli("runs", "cancel", run_id)
    assert cancel.returncode == 4, cancel.stderr  # FAILED_PRECONDITION: the run has ended


def test_jobs_get_effective_shows_inherited_transformers(
    cli: Cli, pg_database: Callable[[str], str], tmp_path: Path
) -> None:
    tag, _, prod, qa = shop_connections(cli, pg_database)
    job = f"keys-{tag}"
    job_file = tmp_path / "job.yaml"
    job_file.write_text(
        f"name: {job}\n"
        f"source: {{connection: {prod}}}\n"
        f"destinations: [{{connection: {qa}}}]\n"
        "mappings: [{table: customers, columns: {id: {transform_scramble_identity: {}}}}]\n"
    )
    cli.ok("jobs", "create", "-f", str(job_file))

    saved = parse_job(cli.ok("jobs", "get", job).stdout)
    assert [m.table for m in saved.mappings] == ["customers"]
    effective = parse_job(cli.ok("jobs", "get", job, "--effective").stdout)
    key = saved.mappings[0].columns["id"]
    assert {m.table: dict(m.columns) for m in effective.mappings} == {
        "customers": {"id": key, "referred_by": key},  # a self-reference inherits too
        "public.orders": {"customer_id": key},
    }


def test_api_keys_and_refusals(cli: Cli, tmp_path: Path) -> None:
    created = json.loads(cli.ok("keys", "create", f"ci-{uuid.uuid4().hex[:8]}", "--json").stdout)
    secret, key_id = created["secret"], created["api_key"]["id"]
    with_key = cli.with_env(VEILSYNC_API_KEY=secret)

    def key_ids(runner: Cli, *options: str) -> list[str]:
        listed = json.loads(runner.ok(*options, "keys", "list", "--json").stdout)
        return [k["id"] for k in listed["api_keys"]]

    assert key_id in key_ids(with_key)
    assert key_id in key_ids(cli, "--api-key", secret)

    cli.ok("keys", "revoke", key_id)
    refused = with_key("connections", "list")
    assert refused.returncode == EXIT_UNAUTHENTICATED, refused.stderr
    assert "UNAUTHENTICATED" in refused.stderr and "VEILSYNC_API_KEY" in refused.stderr

    wrong = cli("--api-key", "not-a-key", "jobs", "list")
    assert wrong.returncode == EXIT_UNAUTHENTICATED and "--api-key" in wrong.stderr, wrong.stderr

    elsewhere = tmp_path / "no-stack"
    missing = cli.with_env(VEILSYNC_DATA_DIR=str(elsewhere))("jobs", "list")
    assert missing.returncode == EXIT_UNAUTHENTICATED, missing.stderr
    assert missing.stderr.startswith("error: no API key")
    for hint in ("--api-key", "VEILSYNC_API_KEY", str(elsewhere / "api-key")):
        assert hint in missing.stderr, missing.stderr


def test_dev_status_shows_every_process(cli: Cli) -> None:
    status = cli.ok("dev", "status").stdout
    # The ML worker runs wherever torch is installed (make test installs the ml extra).
    ml_state = "up" if importlib.util.find_spec("torch") else "skipped"
    expected = {"temporal": "up", "api": "up", "sync-worker": "up", "ml-worker": ml_state}
    for process, state in expected.items():
        assert re.search(rf"\W{process}\W+{state}\b", status), status
