"""`python -m services.sync_worker`: poll the sync task queue until SIGTERM or SIGINT."""

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

from services.common import logging as vs_logging
from services.common.observability.metrics import serve_metrics
from services.common.observability.tracing import configure_tracing
from services.common.secrets import load_cipher
from services.common.settings import Settings
from services.common.store.store import MetadataStore
from services.common.temporal import connect
from services.sync_worker.worker import (
    MAX_CONCURRENT_ACTIVITIES,
    build_worker,
    release_memory_promptly,
)

log = logging.getLogger("veilsync.sync_worker")


async def main() -> None:
    settings = Settings()
    vs_logging.configure(settings.log_level, settings.log_format)
    configure_tracing("veilsync-sync-worker")
    serve_metrics(settings)
    release_memory_promptly()
    store = MetadataStore(settings.metadata_url(), load_cipher(settings))
    client = await connect(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
        worker = build_worker(
            client,
            store,
            executor,
            settings.sync_task_queue,
            ml_task_queue=settings.ml_task_queue,
            binary_copy=settings.copy_format == "auto",
        )
        async with worker:
            log.info(
                "sync worker polling task queue %r at %s",
                worker.task_queue,
                settings.temporal_address,
            )
            await stop.wait()
    log.info("sync worker stopped")


if __name__ == "__main__":
    asyncio.run(main())
