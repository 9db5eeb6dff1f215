"""A 1M-row table PostgreSQL to PostgreSQL with three keyed transformers, through the real
worker and Temporal, against `COPY TO STDOUT | COPY FROM STDIN` of the same table.

    .venv/bin/python -m bench.sync_copy [--rows N] [--parts P] [--workers W]

--parts cuts the table into P key ranges copied by parallel activities; --workers runs W sync
workers (W - 1 in processes of their own) that share them.
"""

import argparse
import asyncio
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


async def main(rows: int, parts: int, workers: int) -> None:
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
        async with sync_worker(directory, workers) as (client, queue):
            start = time.perf_counter()
            result = await run_sync(client, queue)
            veilsync = time.perf_counter() - start
        assert result.rows_written == rows, result
    print(f"rows: {rows}")
    print(f"COPY pipe:  {baseline:6.2f} s  {rows / baseline:>10,.0f} rows/s")
    print(
        f"veilsync:   {veilsync:6.2f} s  {rows / veilsync:>10,.0f} rows/s "
        f"(3 keyed transformers, {parts} part(s), {workers} worker(s))"
    )
    print(f"throughput ratio veilsync / COPY pipe: {baseline / veilsync:.2f} (target >= 0.5)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--parts", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.parts, args.workers))
