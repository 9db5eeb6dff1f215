"""A second embedded stack, started with `veilsync dev up` on free ports, for CLI tests."""

import importlib.util
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
    env = {
        **os.environ,
        "VEILSYNC_DATA_DIR": str(data_dir),
        "VEILSYNC_API": f"127.0.0.1:{_free_port()}",
        "VEILSYNC_TEMPORAL_ADDRESS": f"127.0.0.1:{_free_port()}",
        "VEILSYNC_TEMPORAL_UI_PORT": str(_free_port()),
        "VEILSYNC_CODEC_SERVER_PORT": str(_free_port()),
    }
    # The CLI must find the key the test stack writes, not one meant for another stack.
    env.pop("VEILSYNC_API_KEY", None)
    return Cli(env=env, cwd=data_dir)


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
