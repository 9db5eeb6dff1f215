"""`python -m services.ml_worker [--device cuda:N|cpu] [--task-queue ml]`: one worker per
GPU, polling the ML task queue until SIGTERM or SIGINT."""

import argparse
import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

from services.common import logging as vs_logging
from services.common.model_files import open_model_files
from services.common.observability.metrics import serve_metrics
from services.common.observability.tracing import configure_tracing
from services.common.secrets import load_cipher, secret_key
from services.common.settings import Settings
from services.common.store.models_store import ModelStore
from services.common.store.store import MetadataStore
from services.common.temporal import connect
from services.ml_worker.device import pick_device, pin
from services.ml_worker.worker import MAX_CONCURRENT_ACTIVITIES, build_ml_worker

log = logging.getLogger("veilsync.ml_worker")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m services.ml_worker")
    parser.add_argument(
        "--device", default="", help="cuda:N or cpu; default the first CUDA device, else cpu"
    )
    parser.add_argument(
        "--task-queue", default="", help="task queue to poll; default VEILSYNC_ML_TASK_QUEUE, ml"
    )
    return parser.parse_args()


async def main() -> None:
    arguments = _arguments()
    settings = Settings()
    vs_logging.configure(settings.log_level, settings.log_format)
    configure_tracing("veilsync-ml-worker")
    serve_metrics(settings)
    device = pick_device(arguments.device)
    log.info("ML worker device: %s", pin(device))
    store = MetadataStore(settings.metadata_url(), load_cipher(settings))
    models = ModelStore(settings.metadata_url())
    files = open_model_files(settings)
    client = await connect(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
        worker = build_ml_worker(
            client,
            store,
            models,
            files,
            device,
            secret_key(settings),
            executor,
            arguments.task_queue or settings.ml_task_queue,
        )
        async with worker:
            log.info(
                "ML worker polling task queue %r at %s, models in %s",
                worker.task_queue,
                settings.temporal_address,
                files.store.location,
            )
            await stop.wait()
    models.close()
    store.close()
    log.info("ML worker stopped")


if __name__ == "__main__":
    asyncio.run(main())
