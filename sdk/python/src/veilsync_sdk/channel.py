"""Dialing the API: plaintext or TLS (optionally with a client certificate), and the API key
every call carries."""

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import grpc.aio

ChannelOptions = Sequence[tuple[str, Any]]
DEFAULT_ADDRESS = "127.0.0.1:50051"


def bearer_metadata(api_key: str) -> tuple[tuple[str, str], ...]:
    """The call metadata the API authenticates: `authorization: Bearer <key>`."""
    return (("authorization", f"Bearer {api_key.strip()}"),)


def tls_credentials(
    *,
    ca_file: str | Path | None = None,
    client_cert: str | Path | None = None,
    client_key: str | Path | None = None,
) -> grpc.ChannelCredentials:
    """TLS verified against ca_file (the system's roots when None), with a client certificate
    when the API asks for one (mutual TLS); the certificate and its key go together."""
    if (client_cert is None) != (client_key is None):
        raise ValueError("client_cert and client_key go together")
    return grpc.ssl_channel_credentials(
        root_certificates=Path(ca_file).read_bytes() if ca_file else None,
        private_key=Path(client_key).read_bytes() if client_key else None,
        certificate_chain=Path(client_cert).read_bytes() if client_cert else None,
    )


def open_channel(
    address: str,
    credentials: grpc.ChannelCredentials | None,
    options: ChannelOptions = (),
) -> grpc.Channel:
    """A channel to address: over TLS with credentials, plaintext when they are None."""
    if credentials is None:
        return grpc.insecure_channel(address, options=options)
    return grpc.secure_channel(address, credentials, options=options)


def open_aio_channel(
    address: str,
    credentials: grpc.ChannelCredentials | None,
    options: ChannelOptions = (),
) -> grpc.aio.Channel:
    """open_channel for asyncio."""
    if credentials is None:
        return grpc.aio.insecure_channel(address, options=options)
    return grpc.aio.secure_channel(address, credentials, options=options)


def client_credentials(
    *,
    tls: bool = False,
    ca_file: str | Path | None = None,
    client_cert: str | Path | None = None,
    client_key: str | Path | None = None,
) -> grpc.ChannelCredentials | None:
    """TLS when asked for or implied by a CA file or client certificate; None for plaintext."""
    if not (tls or ca_file or client_cert or client_key):
        return None
    return tls_credentials(ca_file=ca_file, client_cert=client_cert, client_key=client_key)


# A job may be as large as the API accepts: reading it back must not hit gRPC's 4 MiB default.
DEFAULT_OPTIONS: ChannelOptions = (("grpc.max_receive_message_length", 64 << 20),)


@dataclass(frozen=True)
class Target:
    """Where and how a client dials: address, TLS credentials (None: plaintext), the API key's
    call metadata and channel options."""

    address: str
    credentials: grpc.ChannelCredentials | None
    # Holds the API key: kept out of the repr, so logging a Target never logs the key.
    metadata: tuple[tuple[str, str], ...] = field(repr=False)
    options: ChannelOptions

    @classmethod
    def of(
        cls,
        address: str | None,
        api_key: str | None,
        *,
        tls: bool,
        ca_file: str | Path | None,
        client_cert: str | Path | None,
        client_key: str | Path | None,
        options: ChannelOptions,
    ) -> "Target":
        """Missing address and key come from VEILSYNC_API and VEILSYNC_API_KEY."""
        key = (api_key or os.environ.get("VEILSYNC_API_KEY", "")).strip()
        if not key:
            raise ValueError("no API key: pass api_key= or set VEILSYNC_API_KEY")
        return cls(
            address=address or os.environ.get("VEILSYNC_API", DEFAULT_ADDRESS),
            credentials=client_credentials(
                tls=tls, ca_file=ca_file, client_cert=client_cert, client_key=client_key
            ),
            metadata=bearer_metadata(key),
            options=(*DEFAULT_OPTIONS, *options),
        )

    def channel(self) -> grpc.Channel:
        return open_channel(self.address, self.credentials, self.options)

    def aio_channel(self) -> grpc.aio.Channel:
        return open_aio_channel(self.address, self.credentials, self.options)
