"""A missing server fails the run under CI and shows as a skip elsewhere, and the summary
counts the tests that ran on each engine: checked by running pytest on small test files
that use the suite's own fixtures (tests/conftest.py), against closed ports."""

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.engines import summary_line, untested

ROOT = Path(__file__).resolve().parents[2]
# Nothing listens on port 1: a connection is refused at once.
CLOSED = {
    "VEILSYNC_TEST_PG": "postgresql://postgres@127.0.0.1:1/postgres",
    "VEILSYNC_TEST_MYSQL": "mysql://root@127.0.0.1:1/",
}


def run_pytest(tmp_path: Path, test: str, ci: bool, **env: str) -> subprocess.CompletedProcess[str]:
    """pytest on one test file in tmp_path, with the suite's fixtures and plugins."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.conftest"]\n')
    (tmp_path / "test_it.py").write_text("import pytest\n\n\n" + test)
    environment = {k: v for k, v in os.environ.items() if k != "CI"}
    environment.update(env, PYTHONPATH=str(ROOT))
    if ci:
        environment["CI"] = "true"
    return subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
            # The suite's own setting (pyproject.toml), which this folder does not see.
            *("-o", "asyncio_default_fixture_loop_scope=session", "test_it.py"),
        ],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


ON_EACH_SERVER = """
def test_on_postgres(pg_database):
    pg_database()


def test_on_mariadb(mysql_database):
    mysql_database()
"""


def test_under_ci_a_missing_server_fails_the_run(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, ON_EACH_SERVER, ci=True, **CLOSED)
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout
    assert "no PostgreSQL at postgresql://postgres@127.0.0.1:1/" in result.stdout
    assert "no MySQL/MariaDB at 127.0.0.1:1" in result.stdout
    assert "CI=true, so a missing server fails the run" in result.stdout
    assert "postgres 0 passed (1 failed), mariadb 0 passed (1 failed)" in result.stdout


def test_locally_a_missing_server_skips_with_its_reason(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, ON_EACH_SERVER, ci=False, **CLOSED)
    assert result.returncode == pytest.ExitCode.OK, result.stdout
    assert "postgres 0 passed (1 skipped), mariadb 0 passed (1 skipped)" in result.stdout
    assert "postgres skipped: no PostgreSQL at postgresql://postgres@127.0.0.1:1/" in result.stdout
    assert "mariadb skipped: no MySQL/MariaDB at 127.0.0.1:1" in result.stdout


def test_under_ci_an_engine_on_which_no_test_passed_fails_the_run(
    tmp_path: Path, postgres_server: None, mariadb_server: None
) -> None:
    skipped = '\n\n@pytest.mark.sqlite\ndef test_on_sqlite():\n    pytest.skip("not today")\n'
    result = run_pytest(tmp_path, ON_EACH_SERVER + skipped, ci=True)
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout
    assert "postgres 1 passed, mariadb 1 passed, sqlite 0 passed (1 skipped)" in result.stdout
    assert "error: no test passed on sqlite" in result.stdout


def test_the_summary_line_and_the_untested_engines() -> None:
    counts = {
        "postgres": Counter(passed=3),
        "mariadb": Counter(skipped=2),
        "sqlite": Counter(passed=1, failed=1),
        "temporal": Counter(),
    }
    assert summary_line(counts) == (
        "engines: postgres 3 passed, mariadb 0 passed (2 skipped), "
        "sqlite 1 passed (1 failed), temporal 0 passed"
    )
    assert untested(counts, {"postgres", "mariadb", "temporal"}) == ["mariadb", "temporal"]
    assert untested(counts, {"postgres"}) == []
