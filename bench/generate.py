"""1M rows x 7 columns generated into PostgreSQL by a generate job through the real worker and
Temporal, against the server generating the same shape itself with INSERT ... SELECT ... FROM
generate_series (no client, no network, no parsing: the ceiling).

    .venv/bin/python -m bench.generate [--rows N] [--samples S]

The baseline runs S times, each truncating the table first as the job does, and its median
and spread are printed: on a shared machine one sample of it can be off by half.
"""

import argparse
import asyncio
import statistics
import uuid

import psycopg

from bench.common import StaticDirectory, scratch_databases, spread, sync_worker, timed
from services.common import contract
from veilsync.temporal.v1 import generate_pb2
from veilsync.v1 import job_pb2

TABLE_SQL = """
CREATE TABLE events (
    id bigint PRIMARY KEY,
    quantity integer NOT NULL,
    label varchar(20) NOT NULL,
    amount numeric(10, 2) NOT NULL,
    created_at timestamptz NOT NULL,
    active boolean NOT NULL,
    ref uuid NOT NULL
)
"""


def server_side(url: str, rows: int) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE events")
        conn.commit()
        conn.execute(
            "INSERT INTO events SELECT g, (g::bigint * 7919) % 1000000, "
            "left(md5(g::text), 1 + g % 20), "
            "round((random() * 1000)::numeric, 2), "
            "timestamptz '2000-01-01' + random() * interval '30 years', random() < 0.5, "
            f"gen_random_uuid() FROM generate_series(1, {rows}) g"
        )


async def main(rows: int, samples: int) -> None:
    with scratch_databases("server", "workflow") as (server, target):
        for url in (server, target):
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(TABLE_SQL)
        baselines = [timed(lambda: server_side(server, rows)) for _ in range(samples)]
        baseline = statistics.median(baselines)
        job = job_pb2.Job(id="bench", generate=job_pb2.GenerateSpec(default_rows=rows))
        job.destinations.add(connection="target", truncate_before_insert=True)
        directory = StaticDirectory({"target": target}, job)
        async with sync_worker(directory) as (client, queue):
            loop = asyncio.get_running_loop()
            start = loop.time()
            result = await client.execute_workflow(
                contract.GENERATE_WORKFLOW,
                generate_pb2.GenerateWorkflowInput(job_id="bench", account_id="bench"),
                id=f"bench-{uuid.uuid4().hex}",
                task_queue=queue,
                result_type=generate_pb2.GenerateWorkflowResult,
            )
            elapsed = loop.time() - start
        with psycopg.connect(target) as conn:
            counted = conn.execute("SELECT count(DISTINCT id) FROM events").fetchone()
        if result.rows_written != rows or counted != (rows,):
            raise RuntimeError(f"wrote {result.rows_written} rows, {counted} distinct keys")
    print(f"rows: {rows:,} x 7 columns")
    for name, seconds in (
        ("server-side INSERT ... SELECT generate_series", baseline),
        ("GenerateWorkflow (COPY, through Temporal)", elapsed),
    ):
        print(f"{name:<46} {seconds:6.2f} s {rows / seconds:>10,.0f} rows/s")
    print(f"server-side samples: {spread(baselines)}")
    print(f"ratio (workflow / server-side median): {baseline / elapsed:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.samples))
