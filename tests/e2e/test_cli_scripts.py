"""The CLI as scripts and CI use it: JSON from every command that prints data, plain progress
lines when stderr is no terminal, a password rotated under a job, saved transformers, and
bring-your-own-model errors passed on verbatim."""

import importlib.metadata
import json
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from services.cli import sample_shop
from tests.e2e.conftest import Cli, shop_connections

pytestmark = pytest.mark.e2e

ROTATED = "rotated-s3cret"


def _with_password(url: str) -> str:
    """The same database with a password in its URL (the test server trusts any)."""
    return make_url(url).set(password=ROTATED).render_as_string(hide_password=False)


def test_cli_for_scripts(cli: Cli, pg_database: Callable[[str], str], tmp_path: Path) -> None:
    version = cli.ok("--version").stdout
    assert version.strip() == f"veilsync, version {importlib.metadata.version('veilsync')}"

    source = pg_database("shop")
    sample_shop.load_postgres(source, sample_shop.build_shop())
    tag = uuid.uuid4().hex[:8]
    prod, qa, job, emails = f"prod-{tag}", f"qa-{tag}", f"ci-{tag}", f"emails-{tag}"
    cli.ok("connections", "create", "--name", prod, "--url", source)
    qa_url = pg_database("qa")
    cli.ok("connections", "create", "--name", qa, "--url", qa_url)
    listed = json.loads(cli.ok("connections", "list", "--json").stdout)["connections"]
    assert {prod, qa} <= {c["name"] for c in listed}
    before = json.loads(cli.ok("connections", "get", qa, "--json").stdout)

    # A saved transformer, used by the job below by name.
    cli.ok("transformers", "create", emails, "--config", '{"transform_email": {}}')
    cli.ok("transformers", "create", f"spare-{tag}", "--config", '{"null": {}}')
    saved = json.loads(cli.ok("transformers", "list", "--saved", "--json").stdout)
    assert {emails, f"spare-{tag}"} <= {t["name"] for t in saved["transformers"]}
    got = json.loads(cli.ok("transformers", "get", emails, "--json").stdout)
    assert got["name"] == emails and "transform_email" in got["config"]
    assert (
        f"deleted transformer spare-{tag}"
        in cli.ok("transformers", "delete", f"spare-{tag}").stdout
    )
    assert cli("transformers", "get", f"spare-{tag}").returncode == 3  # NOT_FOUND

    job_file = tmp_path / "job.yaml"
    job_file.write_text(
        f"name: {job}\n"
        f"source: {{connection: {prod}}}\n"
        f"destinations: [{{connection: {qa}, truncate_before_insert: true, init_schema: true}}]\n"
        f"mappings: [{{table: public.customers, columns: {{email: {{user_defined: {emails}}}, "
        "ssn: {null: {}}}}]\n"
    )
    cli.ok("jobs", "create", "-f", str(job_file))
    assert job in [j["name"] for j in json.loads(cli.ok("jobs", "list", "--json").stdout)["jobs"]]
    assert json.loads(cli.ok("jobs", "get", job, "--json").stdout)["source"]["connection"] == prod

    # The password is rotated under the job: same connection, new URL, never shown.
    rotated = json.loads(
        cli.ok("connections", "update", qa, "--url", _with_password(qa_url), "--json").stdout
    )
    assert rotated["id"] == before["id"] and ROTATED not in json.dumps(rotated)
    assert ROTATED not in cli.ok("connections", "get", qa).stdout

    # stderr is a pipe here, as in CI: progress comes as plain lines while the run goes.
    ran = cli.ok("jobs", "run", job, "--wait", "--timeout", "240", timeout=300)
    run_id = ran.stdout.splitlines()[0].strip()
    lines = ran.stderr.splitlines()
    assert any(
        re.fullmatch(r"public\.customers: succeeded, [\d,]+/[\d,]+ rows, .*", x) for x in lines
    ), ran.stderr
    assert any(x.startswith("run: ") and "rows/s" in x for x in lines), ran.stderr
    assert "rows/s" in ran.stdout  # the summary's run-level rate

    run = json.loads(cli.ok("runs", "get", run_id, "--json").stdout)
    assert (run["id"], run["status"]) == (run_id, "RUN_STATUS_SUCCEEDED")
    progress = json.loads(cli.ok("runs", "progress", run_id, "--json").stdout)
    assert progress["rows_per_second"] > 0 and "eta" not in progress  # ended: no time left
    # 80 columns (no terminal): the run id is never folded onto two lines.
    assert run_id in cli.ok("runs", "list", "--job", job).stdout

    status = json.loads(cli("dev", "status", "--json").stdout)
    assert {"api", "sync-worker"} <= {p["name"] for p in status["processes"]}, status


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_byom_errors_come_back_verbatim(cli: Cli, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from tests.integration.test_ml_api import Coded, RowsOnly, Statuses

    broken, statuses, coded = (tmp_path / f"{n}.pt" for n in ("broken", "statuses", "coded"))
    torch.jit.save(torch.jit.script(RowsOnly()), str(broken))
    torch.jit.save(torch.jit.script(Statuses()), str(statuses))
    torch.jit.save(torch.jit.script(Coded()), str(coded))
    tag = uuid.uuid4().hex[:8]

    refused = cli("models", "upload", str(broken), "--name", f"broken-{tag}", "--format",
                  "torchscript", "--column", "id:integer")  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert "forward() expected at most 2 argument(s) but received 3 argument(s)" in refused.stderr

    name = f"statuses-{tag}"
    cli.ok("models", "upload", str(statuses), "--name", name, "--format", "torchscript",
           "--column", "id:integer", "--column", "status:string")  # fmt: skip
    sampled = json.loads(cli.ok("models", "sample", name, "--rows", "2", "--json").stdout)
    assert sampled["rows"] == [{"id": 1, "status": "new"}, {"id": 2, "status": "paid"}]
    table = cli.ok("models", "sample", name, "--rows", "1").stdout
    assert re.search(r"│ 1 +│ new", table), table  # 1, not 1.0

    # Integer codes declared with their categories come back as the categories.
    upload = ("models", "upload", str(coded), "--name", f"coded-{tag}", "--format", "torchscript",
              "--column", "id:integer")  # fmt: skip
    misdeclared = cli(*upload, "--column", "status:integer:paid,new,shipped")
    assert misdeclared.returncode == 2 and "NAME:string:CATEGORY" in misdeclared.stderr
    cli.ok(*upload, "--column", "status:string:paid,new,shipped")
    sampled = json.loads(cli.ok("models", "sample", f"coded-{tag}", "--rows", "3", "--json").stdout)
    assert [r["status"] for r in sampled["rows"]] == ["new", "shipped", "paid"]
    models = json.loads(cli.ok("models", "list", "--json").stdout)["models"]
    [coded_id] = [m["id"] for m in models if m["name"] == f"coded-{tag}"]
    assert "status string (paid|new|shipped)" in cli.ok("models", "get", coded_id).stdout


def test_a_canceled_run_shows_its_unfinished_tables_canceled(
    cli: Cli, pg_database: Callable[[str], str], tmp_path: Path
) -> None:
    """orders is locked in the source, so the run stops there until it is canceled: customers
    succeeded, orders and order_items (which waits on it) read canceled, not running."""
    tag, source, prod, qa = shop_connections(cli, pg_database)
    job = f"cancel-{tag}"
    job_file = tmp_path / "job.yaml"
    job_file.write_text(
        f"name: {job}\nsource: {{connection: {prod}}}\n"
        f"destinations: [{{connection: {qa}, init_schema: true}}]\n"
    )
    cli.ok("jobs", "create", "-f", str(job_file))

    with psycopg.connect(source) as lock:
        lock.execute("LOCK TABLE public.orders IN ACCESS EXCLUSIVE MODE")
        run_id = cli.ok("jobs", "run", job).stdout.splitlines()[0].strip()
        _progress_until(cli, run_id, lambda p: _statuses(p).get("public.orders") == "RUNNING")
        cli.ok("runs", "cancel", run_id)
    progress = _progress_until(cli, run_id, lambda p: p["status"] != "RUN_STATUS_RUNNING")

    assert progress["status"] == "RUN_STATUS_CANCELED"
    assert _statuses(progress) == {
        "public.customers": "SUCCEEDED",
        "public.orders": "CANCELED",
        "public.order_items": "CANCELED",
    }
    run = json.loads(cli.ok("runs", "get", run_id, "--json").stdout)
    assert run["status"] == "RUN_STATUS_CANCELED"


def _statuses(progress: dict[str, Any]) -> dict[str, str]:
    return {t["table"]: t["status"].removeprefix("TABLE_SYNC_STATUS_") for t in progress["tables"]}


def _progress_until(
    cli: Cli, run_id: str, reached: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """`runs progress --json`, asked again until it shows what the test waits for."""
    for _ in range(600):
        progress: dict[str, Any] = json.loads(cli.ok("runs", "progress", run_id, "--json").stdout)
        if reached(progress):
            return progress
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} never got there: {progress}")
