"""A 1M-row table PostgreSQL to PostgreSQL with three keyed transformers, through the real
worker and Temporal, against `COPY TO STDOUT | COPY FROM STDIN` of the same table.

    .venv/bin/python -m bench.sync_copy [--rows N] [--parts P] [--workers W] [--rounds R]

--parts cuts the table into P key ranges copied by parallel activities; --workers runs W sync
workers (W - 1 in processes of their own) that share them. Each of the R rounds runs the sync
with the privacy report every run makes and without it (a worker told to skip it), in turns,
so the report's cost is measured against a baseline in the same process.
"""

import argparse
import asyncio
import statistics
import time

import psycopg

from bench.common import StaticDirectory, psql_pipe, run_sync, scratch_databases, sync_worker
from veilsync.v1 import job_pb2

TABLE = """
CREATE TABLE people (
    id bigint PRIMARY KEY, email text NOT NULL, first_name text NOT NULL,
    last_name text NOT NULL, ssn text, phone text, created_at timestamptz NOT NULL,
    balance numeric(12, 2) NOT NULL)
"""
FILL = """
INSERT INTO people
SELECT i, 'user' || i || '@corp.test', (ARRAY['Ann', 'Bo', 'Cy', 'Di'])[1 + i %% 4],
       'Last' || (i %% 5000), lpad((i %% 999999999)::text, 9, '0'),
       '+1555' || lpad(i::text, 7, '0'),
       '2024-01-01'::timestamptz + i * interval '1 second', (i %% 100000) / 100.0
FROM generate_series(1, %s) AS i
"""


def job(rows: int = 0, parts: int = 1) -> job_pb2.Job:
    job = job_pb2.Job(name="bench", source=job_pb2.JobSource(connection="src"))
    if parts > 1:
        job.split_table_rows = -(-rows // parts)
        job.max_parallel_tables = parts
    job.destinations.add(connection="dst", truncate_before_insert=True)
    columns = job.mappings.add(table="public.people").columns
    columns["email"].transform_email.SetInParent()
    columns["first_name"].transform_first_name.SetInParent()
    columns["ssn"].transform_hash.SetInParent()
    return job


async def timed_sync(
    directory: StaticDirectory, workers: int, privacy_report: bool, rows: int
) -> tuple[float, float]:
    """Seconds one run takes, its worker's start left out, and the CPU seconds this process
    (the in-process worker) spent on it, which other load on a shared machine sways less;
    checks the report is (not) there."""
    async with sync_worker(directory, workers, privacy_report) as (client, queue):
        start, cpu = time.perf_counter(), time.process_time()
        result = await run_sync(client, queue)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert result.rows_written == rows, result
    assert result.verification.HasField("privacy") == privacy_report, result.verification
    return seconds, cpu


async def main(rows: int, parts: int, workers: int, rounds: int) -> None:
    with scratch_databases("src", "pipe", "dst") as (source, pipe, destination):
        for url in (source, pipe, destination):
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(TABLE)
        with psycopg.connect(source, autocommit=True) as conn:
            conn.execute(FILL, (rows,))
            conn.execute("VACUUM ANALYZE people")
        start = time.perf_counter()
        psql_pipe(source, pipe, ["people"])
        baseline = time.perf_counter() - start
        directory = StaticDirectory({"src": source, "dst": destination}, job(rows, parts))
        runs: dict[bool, list[float]] = {True: [], False: []}
        cpu: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(rounds):
            for privacy_report in (True, False):
                seconds, used = await timed_sync(directory, workers, privacy_report, rows)
                runs[privacy_report].append(seconds)
                cpu[privacy_report].append(used)
    veilsync, without = statistics.median(runs[True]), statistics.median(runs[False])
    print(f"rows: {rows}")
    print(f"COPY pipe:  {baseline:6.2f} s  {rows / baseline:>10,.0f} rows/s")
    print(
        f"veilsync:   {veilsync:6.2f} s  {rows / veilsync:>10,.0f} rows/s "
        f"(3 keyed transformers, {parts} part(s), {workers} worker(s))"
    )
    print(f"throughput ratio veilsync / COPY pipe: {baseline / veilsync:.2f} (target >= 0.5)")
    print(
        f"privacy report: with {_runs(runs[True], rows)}; without {_runs(runs[False], rows)}; "
        f"costs {1 - without / veilsync:.1%} of throughput (target <= 10%)"
    )
    used, spared = statistics.median(cpu[True]), statistics.median(cpu[False])
    print(
        f"worker CPU: with {used:.2f} s, without {spared:.2f} s (medians): the report costs "
        f"{1 - spared / used:.1%} of it"
    )


def _runs(seconds: list[float], rows: int) -> str:
    times = ", ".join(f"{s:.2f} s" for s in seconds)
    return f"{times} (median {rows / statistics.median(seconds):,.0f} rows/s)"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--parts", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.parts, args.workers, args.rounds))
