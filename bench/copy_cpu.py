"""Where a table copy's CPU goes: the engine's copy_table of bench.sync_copy's 1M-row people
table (three keyed transformers) in this process, PostgreSQL to PostgreSQL, as CSV and in
binary form (services/engine/copy/wire.py), next to `psql COPY TO | psql COPY FROM` in binary,
in turns. Each prints its wall time, this process's CPU time (the worker's side) and the CPU
time of each PostgreSQL backend it used (from /proc, sampled while it runs).

    .venv/bin/python -m bench.copy_cpu [--rows N] [--samples S]
"""

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg

from bench import sync_copy
from bench.common import ADMIN_URL, in_turns, run_with_rows_and_samples, scratch_databases, spread
from bench.sync_e2e import binary_pipe
from services.engine.connectors import open_database
from services.engine.copy import table_copy
from services.engine.planning.sync_plan import build_plan
from veilsync.temporal.v1 import sync_pb2

_TICKS = os.sysconf("SC_CLK_TCK")


def _backend_cpu() -> dict[int, float]:
    """CPU seconds so far of every client backend but the one asking."""
    with psycopg.connect(ADMIN_URL) as conn:
        pids = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
    seconds = {}
    for (pid,) in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        seconds[pid] = (int(fields[11]) + int(fields[12])) / _TICKS
    return seconds


@contextmanager
def backends_watched() -> Iterator[list[float]]:
    """Yields a list filled, at the block's end, with the CPU seconds each backend that ran
    during the block spent in it (largest first)."""
    before, last, stop = _backend_cpu(), {}, threading.Event()

    def watch() -> None:
        while not stop.is_set():
            last.update(_backend_cpu())  # a backend's last reading before it exits
            time.sleep(0.1)

    thread = threading.Thread(target=watch)
    thread.start()
    spent: list[float] = []
    try:
        yield spent
    finally:
        stop.set()
        thread.join()
        used = [seconds - before.get(pid, 0.0) for pid, seconds in last.items()]
        spent.extend(sorted((s for s in used if s >= 0.05), reverse=True))


def main(rows: int, samples: int) -> None:
    with scratch_databases("src", "dst", "pipe") as (source_url, destination_url, pipe_url):
        for url in (source_url, destination_url, pipe_url):
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(sync_copy.TABLE)
        with psycopg.connect(source_url, autocommit=True) as conn:
            conn.execute(sync_copy.FILL, (rows,))
            conn.execute("VACUUM ANALYZE people")
        source, destination = open_database(source_url), open_database(destination_url)
        plan_of = sync_pb2.DestinationPlan(truncate_before_insert=True)
        (table,) = build_plan(sync_copy.job(), source.introspect(), "src", [plan_of]).tables
        ends = [table_copy.Destination(destination, plan_of)]

        def copy(binary: bool) -> None:
            with psycopg.connect(destination_url, autocommit=True) as conn:
                conn.execute("TRUNCATE people")
            table_copy.copy_table(
                source, ends, table, b"bench-key" * 4, lambda *_: None, binary_copy=binary
            )

        ways: dict[str, Callable[[], None]] = {
            "binary COPY pipe (psql)": lambda: binary_pipe(source_url, pipe_url),
            "copy_table, CSV": lambda: copy(False),
            "copy_table, binary form": lambda: copy(True),
        }
        walls: dict[str, list[float]] = {name: [] for name in ways}
        for _, name, way in in_turns(ways, samples):
            start, cpu = time.perf_counter(), time.process_time()
            with backends_watched() as backends:
                way()
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            walls[name].append(wall)
            shown = ", ".join(f"{s:.2f}" for s in backends)
            print(f"{name:26} wall {wall:.2f} s, this process {cpu:.2f} s, backends {shown} s")
    print(f"{rows:,} rows, {samples} samples each:")
    for name, seconds in walls.items():
        print(f"  {name:26} {spread(seconds)}")


if __name__ == "__main__":
    run_with_rows_and_samples(__doc__, main)
