"""A sync worker in its own process, for tests that kill it: `python -m
tests.integration.worker_process CONFIG.json`. The config names the Temporal address, the task
queue, the connections and the job; the source is read slowly so a kill lands mid-table."""

import asyncio
import json
import signal
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa
from google.protobuf import json_format
from temporalio.client import Client

from services.engine.connectors import open_database
from services.engine.connectors.base import Database, ReadRequest
from services.sync_worker import activities
from services.sync_worker.worker import MAX_CONCURRENT_ACTIVITIES, build_worker
from veilsync.v1 import job_pb2, transformer_pb2


class Directory:
    def __init__(self, config: dict[str, Any]) -> None:
        self._urls: dict[str, str] = config["urls"]
        self._job = json_format.ParseDict(config["job"], job_pb2.Job())

    def connection_url(self, account_id: str, connection_id: str) -> str:
        return self._urls[connection_id]

    def get_job(
        self, account_id: str, *, job_id: str | None = None, name: str | None = None
    ) -> job_pb2.Job:
        return self._job

    def transform_key(self, account_id: str, job_id: str) -> bytes:
        return b"resume-test-key"

    def connection_id_by_name(self, account_id: str, name: str) -> str:
        return name

    def saved_transformer(
        self, account_id: str, name: str
    ) -> transformer_pb2.TransformerConfig | None:
        return None  # no saved transformers

    def hook_secret(self, account_id: str, job_id: str) -> bytes:
        return b""


class SlowSource:
    """Reads in pieces with a pause between them."""

    def __init__(self, database: Database, pause: float) -> None:
        self._database, self._pause = database, pause

    def __getattr__(self, name: str) -> Any:
        return getattr(self._database, name)

    def read(self, request: ReadRequest) -> Iterator[pa.RecordBatch]:
        for batch in self._database.read(request):
            for start in range(0, batch.num_rows, 1000):
                time.sleep(self._pause)
                yield batch.slice(start, 1000)


async def main(config: dict[str, Any]) -> None:
    source_url = config["urls"][config["job"]["source"]["connection"]]

    def open_slowly(url: str) -> Any:
        database = open_database(url)
        return SlowSource(database, config["pause"]) if url == source_url else database

    activities.open_database = open_slowly  # type: ignore[assignment]
    client = await Client.connect(config["temporal"])
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    with ThreadPoolExecutor(MAX_CONCURRENT_ACTIVITIES) as executor:
        worker = build_worker(
            client, Directory(config), executor, config["queue"], config["chunk_rows"]
        )
        async with worker:
            print("worker ready", flush=True)
            await stop.wait()


if __name__ == "__main__":
    with open(sys.argv[1]) as handle:
        asyncio.run(main(json.load(handle)))
