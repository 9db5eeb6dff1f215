"""The Python SDK as a user outside the repository gets it: installed alone into a fresh venv,
its examples run with that venv's Python against a live stack."""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from packaging.utils import canonicalize_name

from services.cli import sample_shop
from services.cli.stack import ml_worker_skip_reason
from services.common.settings import API_KEY_FILE
from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "sdk" / "python"
EXAMPLES = SDK / "examples"


def _pip(python: Path, *args: str) -> str:
    result = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"pip {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _installed(python: Path) -> set[str]:
    return {canonicalize_name(p["name"]) for p in json.loads(_pip(python, "list", "--format=json"))}


def _requires(python: Path, names: set[str]) -> set[str]:
    """The names and everything they require, by `pip show`."""
    found, todo = set(), set(names)
    while todo:
        name = todo.pop()
        found.add(name)
        shown = _pip(python, "show", name)
        [line] = [x for x in shown.splitlines() if x.startswith("Requires:")]
        todo |= {
            canonicalize_name(r.strip()) for r in line.split(":", 1)[1].split(",") if r.strip()
        }
        todo -= found
    return found


@pytest.fixture(scope="module")
def sdk_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv outside the repository with `pip install sdk/python` and nothing else of ours."""
    venv = tmp_path_factory.mktemp("sdk-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    seeded = _installed(python)  # pip (and setuptools on older Pythons) come with any venv
    _pip(python, "install", "--quiet", str(SDK))
    shown = _pip(python, "show", "veilsync-sdk")
    assert "Requires: grpcio, protobuf" in shown, shown
    added = _installed(python) - seeded
    assert added == {"veilsync-sdk"} | _requires(python, {"grpcio", "protobuf"}), added
    assert not added & {"veilsync", "temporalio", "sqlalchemy", "pyyaml", "click"}
    return python


def _run(python: Path, cli: Cli, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """An example run from outside the repository, the stack's address and key in its env."""
    key = (Path(cli.env["VEILSYNC_DATA_DIR"]) / API_KEY_FILE).read_text().strip()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env |= {"VEILSYNC_API": cli.env["VEILSYNC_API"], "VEILSYNC_API_KEY": key}
    result = subprocess.run(
        [str(python), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result


def test_the_sync_example_runs_a_job_from_a_job_file(
    sdk_python: Path, cli: Cli, pg_database: Callable[[str], str], tmp_path: Path
) -> None:
    source, destination = pg_database("sdkshop"), pg_database("sdkqa")
    shop = sample_shop.build_shop(customers=20, orders=30, items=60)
    sample_shop.load_postgres(source, shop)
    tag = uuid.uuid4().hex[:8]
    job = json.loads((EXAMPLES / "job.json").read_text())
    prod, qa = f"prod-{tag}", f"qa-{tag}"
    job["name"], job["source"]["connection"] = f"sdk-{tag}", prod
    job["destinations"][0]["connection"] = qa
    job_file = tmp_path / "job.json"
    job_file.write_text(json.dumps(job))

    out = _run(
        sdk_python,
        cli,
        tmp_path,
        str(EXAMPLES / "sync_job.py"),
        str(job_file),
        "--connection",
        f"{prod}={source}",
        "--connection",
        f"{qa}={destination}",
    ).stdout
    total = sum(shop.count(t) for t in ("customers", "orders", "order_items"))
    assert f"RUN_STATUS_SUCCEEDED: {total} rows written" in out, out
    assert "RUN_STATUS_RUNNING" in out or "RUN_STATUS_SUCCEEDED 100.0%" in out, out
    with psycopg.connect(source) as before, psycopg.connect(destination) as after:
        query = "SELECT id, email FROM customers ORDER BY id"
        original, copied = before.execute(query).fetchall(), after.execute(query).fetchall()
    assert [i for i, _ in copied] == [i for i, _ in original]
    assert all(a != b for (_, a), (_, b) in zip(original, copied, strict=True))


def test_the_async_example_uploads_a_model_and_samples_it(
    sdk_python: Path, cli: Cli, tmp_path: Path
) -> None:
    if skipped := ml_worker_skip_reason():
        pytest.skip(f"the stack has no ML worker: {skipped}")
    pytest.importorskip("onnx")
    from tests.integration.test_ml_workflows import _onnx_model

    model_file = tmp_path / "generator.onnx"
    _onnx_model(model_file)
    out = _run(
        sdk_python,
        cli,
        tmp_path,
        str(EXAMPLES / "upload_and_sample.py"),
        str(model_file),
        "--name",
        f"sdk-{uuid.uuid4().hex[:8]}",
        "--column",
        "id:integer",
        "--column",
        "amount:float",
        "--rows",
        "3",
    ).stdout
    assert "MODEL_STATUS_READY" in out, out
    rows = [line for line in out.splitlines() if line.startswith("{")]
    assert len(rows) == 3, out
    assert "'amount': 4.5" in rows[2], out
    assert "as expected: NOT_FOUND" in out, out
