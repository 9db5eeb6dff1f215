"""`python -m services.api`: serve the API until SIGTERM or SIGINT."""

import asyncio
import logging
import signal

from services.api.bootstrap import ensure_first_key
from services.api.server import build_server
from services.common.logging import configure
from services.common.secrets import load_cipher
from services.common.settings import Settings
from services.common.store.store import MetadataStore
from services.common.temporal import connect

_log = logging.getLogger("services.api")

# In-flight calls get this long to finish once a stop is asked for.
SHUTDOWN_GRACE_SECONDS = 10.0


async def serve(settings: Settings) -> None:
    store = MetadataStore(settings.metadata_url(), load_cipher(settings))
    try:
        await asyncio.to_thread(store.migrate)
        await asyncio.to_thread(ensure_first_key, store.api_keys, settings.data_dir)
        client = await connect(settings)
        server = await build_server(settings, store, client)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await server.start()
        _log.info("API serving on %s", settings.api)
        try:
            await stop.wait()
        finally:
            _log.info("API stopping")
            await server.stop(SHUTDOWN_GRACE_SECONDS)
    finally:
        store.close()


def main() -> None:
    settings = Settings()
    configure(settings.log_level)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
