"""A PostgreSQL server on a host of its own. The machine's server listens on 127.0.0.1
only, which no other namespace reaches, so the hosts get one that listens on the db host's
address: a fresh cluster (initdb) in a temporary directory, run as the postgres user."""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.distributed.hosts import Host

PG_BIN = Path(os.environ.get("VEILSYNC_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
AS_POSTGRES = ["runuser", "-u", "postgres", "--"]
# A throwaway cluster: durability buys nothing, and the 2M-row fill goes faster without it.
OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=300 -c shared_buffers=256MB"
)


def missing() -> str:
    """Why no cluster can be made here, or "" when one can."""
    if not (PG_BIN / "initdb").exists():
        return f"no PostgreSQL binaries in {PG_BIN} (set VEILSYNC_TEST_PG_BIN)"
    if shutil.which("runuser") is None:
        return "runuser (util-linux) is not installed"
    if subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
        return "no postgres user to run the cluster as"
    return ""


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True, capture_output=True, text=True)


@contextmanager
def postgres_on(host: Host) -> Iterator[str]:
    """Start a cluster listening on `host`'s address (trust from its /24); yields the URL
    prefix `postgresql://postgres@ADDRESS:5432` and stops the cluster on exit."""
    directory = Path(tempfile.mkdtemp(prefix="veilsync-db-"))
    shutil.chown(directory, user="postgres", group="postgres")
    data, subnet = directory / "data", host.address.rsplit(".", 1)[0]
    pg_ctl = [*AS_POSTGRES, str(PG_BIN / "pg_ctl"), "-D", str(data)]
    try:
        _run([*AS_POSTGRES, str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
              "--auth=trust", "--no-sync", "-E", "UTF8"])  # fmt: skip
        with open(data / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {subnet}.0/24 trust\n")
        listen = f"-c listen_addresses={host.address} -c unix_socket_directories={directory}"
        log = str(directory / "postgres.log")  # the postgres user cannot write the test's logs
        _run(host.argv(*pg_ctl, "-l", log, "-o", f"{listen} {OPTIONS}", "-w", "start"))
        try:
            yield f"postgresql://postgres@{host.address}:5432"
        finally:
            subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
