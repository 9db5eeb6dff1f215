"""200 tables linked by foreign keys (chains and fan-outs), 1,000 rows each, through the real
worker and Temporal, against one process copying every table with COPY.

    .venv/bin/python -m bench.many_tables [--tables N] [--rows N] [--parallel N] [--samples S]

The baseline runs S times into the same empty tables (emptied between samples, outside the
clock) and its median and spread are printed.
"""

import argparse
import asyncio
import statistics
import time

import psycopg

from bench.common import StaticDirectory, run_sync, scratch_databases, spread, sync_worker, timed
from veilsync.v1 import job_pb2


def schema_sql(tables: int) -> str:
    """Chains of ten tables hanging off a hub: t000 <- t001 <- ... and t000 <- t010, t020 ..."""
    statements = []
    for i in range(tables):
        parent = (
            ""
            if i == 0
            else f", parent_id bigint NOT NULL REFERENCES t{i - 1 if i % 10 else 0:03d}"
        )
        statements.append(f"CREATE TABLE t{i:03d} (id bigint PRIMARY KEY, label text{parent})")
    return ";\n".join(statements)


def fill_sql(tables: int, rows: int) -> str:
    return ";\n".join(
        f"INSERT INTO t{i:03d} SELECT g, 'row ' || g"
        + (f", 1 + g % {rows}" if i else "")
        + f" FROM generate_series(1, {rows}) g"
        for i in range(tables)
    )


def copy_all(source: str, destination: str, tables: int) -> None:
    """The baseline: one process, one connection each side, COPY out into COPY in."""
    with psycopg.connect(source) as src, psycopg.connect(destination) as dst:
        for i in range(tables):
            with (
                src.cursor().copy(f"COPY t{i:03d} TO STDOUT") as out,
                dst.cursor().copy(f"COPY t{i:03d} FROM STDIN") as into,
            ):
                for chunk in out:
                    into.write(chunk)
        dst.commit()


async def main(tables: int, rows: int, parallel: int, samples: int) -> None:
    with scratch_databases("src", "pipe", "dst") as (source, pipe, destination):
        # Both copies start from the same empty tables: the comparison is of copying alone.
        for url in (source, pipe, destination):
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(schema_sql(tables))
        with psycopg.connect(source, autocommit=True) as conn:
            conn.execute(fill_sql(tables, rows))
            conn.execute("ANALYZE")
        baselines = []
        for _ in range(samples):
            with psycopg.connect(pipe, autocommit=True) as conn:
                conn.execute(f"TRUNCATE {', '.join(f't{i:03d}' for i in range(tables))}")
            baselines.append(timed(lambda: copy_all(source, pipe, tables)))
        baseline = statistics.median(baselines)
        job = job_pb2.Job(name="bench", source=job_pb2.JobSource(connection="src"))
        job.max_parallel_tables = parallel
        job.destinations.add(connection="dst")
        directory = StaticDirectory({"src": source, "dst": destination}, job)
        async with sync_worker(directory) as (client, queue):
            start = time.perf_counter()
            result = await run_sync(client, queue)
            veilsync = time.perf_counter() - start
        assert result.rows_written == tables * rows, result.rows_written
    print(f"tables: {tables} x {rows} rows, {parallel} tables in flight")
    print(f"one-process COPY:  {spread(baselines)}")
    print(f"veilsync workflow: {veilsync:6.2f} s (plan, checks, copy in FK order, sequences)")
    print(
        f"time ratio veilsync / COPY median: {veilsync / baseline:.2f}x (target <= 2x, goal 1.5x)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tables", type=int, default=200)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--samples", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.tables, args.rows, args.parallel, args.samples))
