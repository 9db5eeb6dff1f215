"""The TypeScript SDK's own tests (sdk/typescript/src/test, node's test runner) against a live
stack: this test starts nothing but the stack and the databases, and checks what the run wrote."""

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli
from tests.e2e.test_cli import _rows, _shop

pytestmark = pytest.mark.e2e

SDK = Path(__file__).resolve().parents[2] / "sdk" / "typescript"


def test_typescript_sdk_against_a_live_stack(cli: Cli, pg_database: Callable[[str], str]) -> None:
    npm = shutil.which("npm")
    if npm is None or not (SDK / "node_modules").is_dir():
        pytest.fail("the TypeScript SDK is not installed: `make test` runs npm ci in " + str(SDK))
    source, shop = _shop(pg_database)
    destination = pg_database("qa")
    api_key = cli.ok("keys", "create", "typescript-sdk").stdout.strip()
    result = subprocess.run(
        [npm, "test"],
        cwd=SDK,
        env={
            **os.environ,
            "VEILSYNC_ADDRESS": cli.env["VEILSYNC_API"],
            "VEILSYNC_API_KEY": api_key,
            "VEILSYNC_SOURCE_URL": source,
            "VEILSYNC_DESTINATION_URL": destination,
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"npm test failed:\n{result.stdout}\n{result.stderr}"
    # node's TAP summary: a run that found no test file passes too, so count them.
    counts = dict(re.findall(r"^# (pass|fail) (\d+)$", result.stdout, re.MULTILINE))
    assert counts.get("fail") == "0" and int(counts.get("pass", 0)) >= 5, result.stdout

    # The job the SDK created copied the shop and replaced every email.
    before, after = _rows(source, "customers"), _rows(destination, "customers")
    assert len(after) == shop.count("customers") and before.keys() == after.keys()
    assert all(after[pk]["email"] != row["email"] for pk, row in before.items())
