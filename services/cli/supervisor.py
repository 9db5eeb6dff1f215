"""Detached child processes: start them, find them again from a state file, stop them.

The CLI exits while the stack keeps running, so a later `veilsync dev down` (another process)
must recognise the same children: each is recorded with its pid and its kernel start time,
which tells a live child from an unrelated process that reused the pid.
"""

import contextlib
import json
import os
import signal
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ChildProcess:
    """One started child, as recorded in the state file."""

    name: str
    pid: int
    log: str
    argv: list[str]
    start_ticks: int | None
    # Its Prometheus endpoints: what each serves → host:port.
    metrics: dict[str, str] = field(default_factory=dict)

    def is_alive(self) -> bool:
        return is_running(self.pid, self.start_ticks)


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses; fields after it are plain.
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19])


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def is_running(pid: int, start_ticks: int | None = None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    if _is_zombie(pid):
        return False
    return start_ticks is None or _start_ticks(pid) in (None, start_ticks)


def spawn(
    name: str,
    argv: Sequence[str],
    log: Path,
    env: Mapping[str, str],
    metrics: Mapping[str, str] | None = None,
    hidden: Collection[str] = (),
) -> ChildProcess:
    """Start `argv` in its own session, so it outlives the CLI and ignores the terminal's ^C.
    The log's first line shows the command with every `hidden` string (a token) masked.

    posix_spawn rather than subprocess.Popen: the child belongs to the state file, not to a
    Popen object whose finalizer would warn that it is still running.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        shown = " ".join(argv)
        for secret in filter(None, hidden):
            shown = shown.replace(secret, "***")
        out.write(f"\n--- veilsync: starting {name}: {shown}\n".encode())
        out.flush()
        pid = os.posix_spawn(
            argv[0],
            list(argv),
            dict(env),
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                (os.POSIX_SPAWN_DUP2, out.fileno(), 2),
            ],
            setsid=True,
        )
    return ChildProcess(
        name=name,
        pid=pid,
        log=str(log),
        argv=list(argv),
        start_ticks=_start_ticks(pid),
        metrics=dict(metrics or {}),
    )


def stop(child: ChildProcess, grace_s: float = 10.0) -> None:
    """SIGTERM the child's process group, wait up to `grace_s`, then SIGKILL it."""
    if not child.is_alive():
        return
    _signal_group(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        _reap(child.pid)
        if not child.is_alive():
            return
        time.sleep(0.1)
    _signal_group(child.pid, signal.SIGKILL)
    for _ in range(50):
        _reap(child.pid)
        if not child.is_alive():
            return
        time.sleep(0.1)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # The child leads its own session, so its group also holds anything it started.
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def _reap(pid: int) -> None:
    """Collect the exit status when the child is ours (started by this very process)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def exit_code(child: ChildProcess) -> int | None:
    """The exit status of a child this process started and that has ended, else None."""
    try:
        pid, status = os.waitpid(child.pid, os.WNOHANG)
    except ChildProcessError:
        return None
    if pid == 0:
        return None
    return os.waitstatus_to_exitcode(status)


def read_state(path: Path) -> list[ChildProcess]:
    """The children recorded in `path`; none when the file is missing or unreadable."""
    try:
        data = json.loads(path.read_text())
        return [ChildProcess(**entry) for entry in data["processes"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def write_state(path: Path, children: Sequence[ChildProcess]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"processes": [asdict(c) for c in children]}, indent=2))
    temporary.replace(path)  # atomic: a concurrent `status` never reads half a file


def log_tail(log: Path, lines: int = 15) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])
