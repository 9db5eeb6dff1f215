"""`jobs validate -f` and `jobs create -f` agree on every job file, and a job file over the
size limit never leaves the CLI."""

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli, shop_connections, stack_cli

pytestmark = pytest.mark.e2e

EXIT_FAILED, EXIT_INVALID_ARGUMENT = 1, 2


def _job_yaml(name: str, source: str, destination: str, where: str) -> str:
    return (
        f"name: {name}\n"
        f"source:\n  connection: {source}\n"
        f"  subsets: [{{table: public.customers, where: {json.dumps(where)}}}]\n"
        f"destinations: [{{connection: {destination}, init_schema: true}}]\n"
    )


def test_validate_fails_exactly_where_create_refuses(
    cli: Cli, pg_database: Callable[[str], str], tmp_path: Path
) -> None:
    tag, _, prod, qa = shop_connections(cli, pg_database)
    cases = [
        ("1=1; DROP TABLE customers", "not several statements"),
        ("pg_sleep(10) IS NULL", "function pg_sleep() is not allowed"),
        ("length(repeat(email, 1000000)) > 0", "function repeat() is not allowed"),
        ("id IN (SELECT customer_id FROM orders)", "subqueries"),
        ("email = 'unterminated", "not a valid SQL expression"),
        ("id <= 10", None),
    ]
    for i, (where, problem) in enumerate(cases):
        job_file = tmp_path / f"job-{i}.yaml"
        job_file.write_text(_job_yaml(f"checks-{tag}-{i}", prod, qa, where))
        validated = cli("jobs", "validate", "-f", str(job_file), "--json")
        created = cli("jobs", "create", "-f", str(job_file))
        if problem is None:
            assert validated.returncode == 0, validated.stdout + validated.stderr
            assert json.loads(validated.stdout)["valid"]
            assert created.returncode == 0, created.stderr
            continue
        assert validated.returncode == EXIT_FAILED, (where, validated.stdout, validated.stderr)
        report = json.loads(validated.stdout)
        assert not report["valid"] and problem in report["violations"][0]["description"]
        assert created.returncode == EXIT_INVALID_ARGUMENT, (where, created.stderr)
        assert problem in created.stderr


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_job_file_over_the_limit_is_refused_before_it_is_sent(tmp_path: Path) -> None:
    # No stack: had the CLI dialled, it would fail with UNAVAILABLE (exit 6), not exit 2.
    runner = stack_cli(tmp_path).with_env(
        VEILSYNC_API=f"127.0.0.1:{_closed_port()}", VEILSYNC_API_KEY="vs_unused"
    )
    job_file = tmp_path / "job.yaml"
    job_file.write_text(_job_yaml("big", "prod", "qa", "id < 1") + "#" * 1_000_000 + "\n")
    for command in (("create",), ("validate",), ("update",)):
        result = runner("jobs", *command, "-f", str(job_file))
        assert result.returncode == EXIT_INVALID_ARGUMENT, result.stderr
        assert "over the limit of 1,000,000 bytes (VEILSYNC_MAX_JOB_BYTES)" in result.stderr
    # The limit is a setting: raised, the same file is read and sent (and the dial fails).
    raised = runner.with_env(VEILSYNC_MAX_JOB_BYTES="2000000")(
        "jobs", "validate", "-f", str(job_file)
    )
    assert raised.returncode == 6 and "cannot reach" in raised.stderr, raised.stderr
