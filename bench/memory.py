"""Peak resident memory of the sync worker while it syncs a 10M-row table (the sync_copy
table and transformers), run in this process so its peak is the worker's. Target: 500 MB.

    .venv/bin/python -m bench.memory [--rows N]
"""

import argparse
import asyncio
import resource
import time

import psycopg

from bench.common import StaticDirectory, run_sync, scratch_databases, sync_worker
from bench.sync_copy import FILL, TABLE, job

TARGET_MB = 500


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


async def main(rows: int) -> None:
    with scratch_databases("src", "dst") as (source, destination):
        for url in (source, destination):
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(TABLE)
        with psycopg.connect(source, autocommit=True) as conn:
            conn.execute(FILL, (rows,))
            conn.execute("VACUUM ANALYZE people")
        directory = StaticDirectory({"src": source, "dst": destination}, job())
        async with sync_worker(directory) as (client, queue):
            before = peak_mb()
            start = time.perf_counter()
            result = await run_sync(client, queue)
            seconds = time.perf_counter() - start
        assert result.rows_written == rows, result.rows_written
    print(f"rows: {rows:,} in {seconds:.1f} s ({rows / seconds:,.0f} rows/s)")
    print(f"worker peak RSS: {before:.0f} MB before the run, {peak_mb():.0f} MB at its end")
    print(f"peak / target: {peak_mb() / TARGET_MB:.2f} (target <= 1.0, {TARGET_MB} MB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    asyncio.run(main(parser.parse_args().rows))
