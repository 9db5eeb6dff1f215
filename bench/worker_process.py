"""One more sync worker in its own process, for benchmarks where several workers share the
work: `python -m bench.worker_process CONFIG.json` (written by bench.common.sync_worker)."""

import asyncio
import json
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from google.protobuf import json_format
from temporalio.client import Client

from bench.common import StaticDirectory
from services.sync_worker.worker import (
    MAX_CONCURRENT_ACTIVITIES,
    build_worker,
    release_memory_promptly,
)
from veilsync.v1 import job_pb2


async def main(config: dict[str, Any]) -> None:
    directory = StaticDirectory(
        config["urls"], json_format.ParseDict(config["job"], job_pb2.Job()), config["key"].encode()
    )
    release_memory_promptly()
    client = await Client.connect(config["temporal"])
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    with ThreadPoolExecutor(MAX_CONCURRENT_ACTIVITIES) as executor:
        async with build_worker(
            client,
            directory,
            executor,
            task_queue=config["queue"],
            privacy_report=config.get("privacy_report", True),
        ):
            print("worker ready", flush=True)
            await stop.wait()


if __name__ == "__main__":
    with open(sys.argv[1]) as handle:
        asyncio.run(main(json.load(handle)))
