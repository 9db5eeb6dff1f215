"""An ML worker in its own process, for tests that kill it: `python -m
tests.integration.ml_worker_process CONFIG.json`. The config names the Temporal address, the
task queue, the connections, the metadata database and the model directory (or an artifact_store
URL with its s3_endpoint_url); each epoch is
slowed down so a kill lands mid-training."""

import asyncio
import json
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch
from temporalio.client import Client

from services.common.model_files import ModelFiles
from services.common.object_store import open_object_store
from services.common.store.models_store import ModelStore
from services.ml_worker import activities
from services.ml_worker.worker import MAX_CONCURRENT_ACTIVITIES, build_ml_worker


class Directory:
    def __init__(self, urls: dict[str, str]) -> None:
        self._urls = urls

    def connection_url(self, account_id: str, connection_id: str) -> str:
        return self._urls[connection_id]


async def main(config: dict[str, Any]) -> None:
    epoch_done = activities._Hooks.epoch_done

    def slow_epoch(self: activities._Hooks, epoch: int, loss: float) -> None:
        time.sleep(config["epoch_pause"])
        epoch_done(self, epoch, loss)

    activities._Hooks.epoch_done = slow_epoch  # type: ignore[method-assign]
    client = await Client.connect(config["temporal"])
    models = ModelStore(config["metadata_url"])
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    with ThreadPoolExecutor(MAX_CONCURRENT_ACTIVITIES) as executor:
        worker = build_ml_worker(
            client,
            Directory(config["urls"]),
            models,
            ModelFiles(
                open_object_store(
                    config.get("artifact_store", ""),
                    Path(config["models_dir"]),
                    config.get("s3_endpoint_url", ""),
                )
            ),
            torch.device("cpu"),
            b"resume-secret",
            executor,
            task_queue=config["queue"],
        )
        async with worker:
            print("worker ready", flush=True)
            await stop.wait()
    models.close()


if __name__ == "__main__":
    with open(sys.argv[1]) as handle:
        asyncio.run(main(json.load(handle)))
