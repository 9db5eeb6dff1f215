"""`python -m services.api`: serve the API until SIGTERM or SIGINT."""

import asyncio
import logging
import signal

from services.api.bootstrap import ensure_first_key
from services.api.codec_server import codec_server
from services.api.server import build_server
from services.common.logging import configure
from services.common.observability.metrics import serve_metrics
from services.common.observability.tracing import configure_tracing
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
        codec = client.data_converter.payload_codec
        codecs = codec_server(settings, store.api_keys, codec) if codec else None
        await server.start()
        _log.info("API serving on %s", settings.api)
        if codecs is not None:
            codecs.start()
            _log.info("codec server on port %d", codecs.port)
        try:
            await stop.wait()
        finally:
            _log.info("API stopping")
            if codecs is not None:
                codecs.stop()
            await server.stop(SHUTDOWN_GRACE_SECONDS)
    finally:
        store.close()


def main() -> None:
    settings = Settings()
    configure(settings.log_level, settings.log_format)
    configure_tracing("veilsync-api")
    serve_metrics(settings)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
