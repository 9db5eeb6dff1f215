"""Which engines a test run really exercised (a pytest plugin, loaded by tests/conftest.py).

A run that skipped every MariaDB test looks as green as one that ran them. So the summary
says how many tests passed on each engine, and under CI (CI=true) an engine on which no
test passed fails the session (tests/servers.py fails, rather than skips, a test whose
server is missing).
"""

from collections import Counter

import pytest

from tests.servers import in_ci

ENGINES = ("postgres", "mariadb", "sqlite", "temporal")

# Fixtures that put a test on an engine. pytest lists every fixture a test uses, directly or
# through others, so the fixtures built on these (pg_database, shop, sakila_pg, api) count
# too. `cli` is the e2e stack, which runs its own Temporal dev server.
_FIXTURES: dict[str, frozenset[str]] = {
    "postgres": frozenset({"postgres_server"}),
    "mariadb": frozenset({"mariadb_server"}),
    "sqlite": frozenset(),
    "temporal": frozenset({"temporal_env", "cli"}),
}

_OUTCOMES = ("passed", "skipped", "failed")


def engines_of(item: pytest.Item) -> set[str]:
    """The engines a test runs on: by its fixtures, its markers or, for SQLite, its name."""
    fixtures = set(getattr(item, "fixturenames", ()))
    found = {engine for engine, names in _FIXTURES.items() if fixtures & names}
    found |= {engine for engine in ENGINES if item.get_closest_marker(engine)}
    # SQLite needs no server, hence no fixture: its tests name it in their module, function
    # or parameters (test_engine_sqlite.py, test_sqlite_skips..., [sqlite]).
    if "sqlite" in item.nodeid.lower():
        found.add("sqlite")
    return found


def summary_line(counts: dict[str, Counter[str]]) -> str:
    """`engines: postgres 210 passed, mariadb 0 passed (45 skipped), ...`"""
    parts = []
    for engine in ENGINES:
        counter = counts[engine]
        extra = [f"{counter[o]} {o}" for o in ("skipped", "failed") if counter[o]]
        parts.append(
            f"{engine} {counter['passed']} passed" + (f" ({', '.join(extra)})" if extra else "")
        )
    return "engines: " + ", ".join(parts)


def untested(counts: dict[str, Counter[str]], expected: set[str]) -> list[str]:
    """The expected engines on which no test passed."""
    return [engine for engine in ENGINES if engine in expected and not counts[engine]["passed"]]


class EngineTally:
    """Counts each test once per engine it ran on, by its worst outcome over its phases."""

    def __init__(self) -> None:
        self.engines: dict[str, set[str]] = {}
        self.outcomes: dict[str, str] = {}
        self.skip_reasons: dict[str, set[str]] = {engine: set() for engine in ENGINES}
        self.untested: list[str] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.engines = {item.nodeid: engines_of(item) for item in session.items}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            outcome = "failed"
        elif report.skipped:
            outcome = "skipped"
            if isinstance(report.longrepr, tuple):  # (path, line, "Skipped: reason")
                reason = report.longrepr[2].removeprefix("Skipped: ")
                for engine in self.engines.get(report.nodeid, ()):
                    self.skip_reasons[engine].add(reason)
        elif report.when == "call":
            outcome = "passed"
        else:
            return
        previous = self.outcomes.get(report.nodeid, "passed")
        self.outcomes[report.nodeid] = max(previous, outcome, key=_OUTCOMES.index)

    def counts(self) -> dict[str, Counter[str]]:
        tally: dict[str, Counter[str]] = {engine: Counter() for engine in ENGINES}
        for nodeid, outcome in self.outcomes.items():
            for engine in self.engines.get(nodeid, ()):
                tally[engine][outcome] += 1
        return tally

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not in_ci() or exitstatus != pytest.ExitCode.OK or session.config.option.collectonly:
            return
        # The whole suite must pass tests on every engine; a run of chosen tests (a file,
        # `make test-deep`) only on the engines its tests use.
        if session.config.args_source is pytest.Config.ArgsSource.TESTPATHS:
            expected = set(ENGINES)
        else:
            expected = {engine for engines in self.engines.values() for engine in engines}
        self.untested = untested(self.counts(), expected)
        if self.untested:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.outcomes:
            return
        terminalreporter.write_line(summary_line(self.counts()))
        for engine, reasons in self.skip_reasons.items():
            for reason in sorted(reasons)[:3]:
                terminalreporter.write_line(f"  {engine} skipped: {reason}")
        if self.untested:
            terminalreporter.write_line(
                f"error: no test passed on {', '.join(self.untested)}; "
                "under CI=true every engine must be tested",
                red=True,
            )


def pytest_configure(config: pytest.Config) -> None:
    for engine in ENGINES:
        config.addinivalue_line("markers", f"{engine}: the test runs on {engine}")
    config.pluginmanager.register(EngineTally(), "veilsync-engine-tally")
