"""A second embedded stack, started with `veilsync dev up` on free ports, for CLI tests."""

import importlib.util
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pytest

from services.cli import sample_shop
from services.cli.stack import separate_env


def _cli_command() -> list[str]:
    script = Path(sys.executable).with_name("veilsync")
    return [str(script)] if script.exists() else [sys.executable, "-m", "services.cli"]


@dataclass(frozen=True)
class Cli:
    """Runs `veilsync ...` as a user would, against the test stack."""

    env: dict[str, str]
    cwd: Path

    def __call__(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*_cli_command(), *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def with_env(self, **extra: str) -> "Cli":
        """The same CLI with some variables changed (another key, another data dir)."""
        return Cli(env={**self.env, **extra}, cwd=self.cwd)

    def ok(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        result = self(*args, timeout=timeout)
        assert result.returncode == 0, (
            f"veilsync {' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
        return result


def stack_cli(data_dir: Path) -> Cli:
    """A CLI for a stack of its own: this data dir and free ports, beside any other stack."""
    return Cli(env=separate_env(data_dir), cwd=data_dir)


class ShopConnections(NamedTuple):
    """The sample shop in a fresh database, and an empty one, as connections on the stack."""

    tag: str  # unique to the test, for the names of what it creates
    source: str  # the shop's URL
    prod: str  # the shop's connection
    qa: str  # the empty database's connection


def shop_connections(cli: Cli, pg_database: Callable[[str], str]) -> ShopConnections:
    source = pg_database("shop")
    sample_shop.load_postgres(source, sample_shop.build_shop())
    tag = uuid.uuid4().hex[:8]
    prod, qa = f"prod-{tag}", f"qa-{tag}"
    cli.ok("connections", "create", "--name", prod, "--url", source)
    cli.ok("connections", "create", "--name", qa, "--url", pg_database("qa"))
    return ShopConnections(tag, source, prod, qa)


# One stack for the whole session: starting one costs seconds of every e2e module's time.
@pytest.fixture(scope="session")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    for module in ("services.api.__main__", "services.sync_worker.__main__"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module.rsplit('.', 1)[0]} has no entry point yet")
    runner = stack_cli(tmp_path_factory.mktemp("stack"))
    try:
        runner.ok("dev", "up")
        yield runner
    finally:
        down = runner("dev", "down", timeout=120)
        assert down.returncode == 0, down.stderr
