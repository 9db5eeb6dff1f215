"""An in-process API on a free port, over a temporary SQLite metadata store and the
session's Temporal dev server."""

from __future__ import annotations  # the async stub types exist only for type checkers

import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography.fernet import Fernet
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from services.api.server import build_server
from services.common.codec import new_key, parse_key
from services.common.contract import DEFAULT_ACCOUNT_ID
from services.common.secrets import SecretCipher
from services.common.settings import Settings
from services.common.store.store import MetadataStore
from services.common.temporal import with_codec
from veilsync.v1 import (
    account_pb2_grpc,
    connection_pb2_grpc,
    job_pb2_grpc,
    model_pb2_grpc,
    transformer_pb2_grpc,
)


class BearerKey:
    """The API key every call sends, as the CLI and SDKs do; tests swap it."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = [m for m in (details.metadata or ()) if m[0] != "authorization"]
        if self.secret:
            metadata.append(("authorization", f"Bearer {self.secret}"))
        return grpc.aio.ClientCallDetails(
            details.method,
            details.timeout,
            grpc.aio.Metadata(*metadata),
            details.credentials,
            details.wait_for_ready,
        )


# grpc.aio files an interceptor under one call kind only, so each kind gets its own.
class _UnaryKey(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, key: BearerKey) -> None:
        self.key = key

    async def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return await continuation(self.key.details(details), request)


class _StreamKey(grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, key: BearerKey) -> None:
        self.key = key

    async def intercept_unary_stream(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return await continuation(self.key.details(details), request)


class _ClientStreamKey(grpc.aio.StreamUnaryClientInterceptor):
    def __init__(self, key: BearerKey) -> None:
        self.key = key

    async def intercept_stream_unary(self, continuation, details, request_iterator):  # type: ignore[no-untyped-def]
        return await continuation(self.key.details(details), request_iterator)


@dataclass
class Api:
    channel: grpc.aio.Channel
    connections: connection_pb2_grpc.ConnectionServiceAsyncStub
    jobs: job_pb2_grpc.JobServiceAsyncStub
    transformers: transformer_pb2_grpc.TransformerServiceAsyncStub
    models: model_pb2_grpc.ModelServiceAsyncStub
    accounts: account_pb2_grpc.AccountServiceAsyncStub
    # Decodes payloads with the API's codec key; `raw_temporal` sees history as stored.
    temporal: Client
    raw_temporal: Client
    store: MetadataStore
    settings: Settings
    key: BearerKey


def stubs_for(address: str, secret: str) -> tuple[grpc.aio.Channel, BearerKey]:
    key = BearerKey(secret)
    channel = grpc.aio.insecure_channel(
        address, interceptors=[_UnaryKey(key), _StreamKey(key), _ClientStreamKey(key)]
    )
    return channel, key


def metadata_store(tmp_path: Path) -> MetadataStore:
    """A migrated SQLite metadata store under tmp_path, with a fresh secret cipher."""
    store = MetadataStore(
        f"sqlite:///{tmp_path / 'metadata.db'}", SecretCipher(Fernet.generate_key())
    )
    store.migrate()
    return store


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def api(tmp_path: Path, temporal_env: WorkflowEnvironment) -> AsyncIterator[Api]:
    store = metadata_store(tmp_path)
    settings = Settings(
        api=f"127.0.0.1:{_free_port()}",
        data_dir=tmp_path,
        codec_key=new_key(),
        sync_task_queue=f"sync-{uuid.uuid4().hex[:8]}",
        ml_task_queue=f"ml-{uuid.uuid4().hex[:8]}",
    )
    client = with_codec(temporal_env.client, parse_key(settings.codec_key))
    server = await build_server(settings, store, client)
    await server.start()
    _, secret = store.api_keys.create(DEFAULT_ACCOUNT_ID, "tests")
    channel, key = stubs_for(settings.api, secret)
    try:
        yield Api(
            channel=channel,
            connections=connection_pb2_grpc.ConnectionServiceStub(channel),
            jobs=job_pb2_grpc.JobServiceStub(channel),
            transformers=transformer_pb2_grpc.TransformerServiceStub(channel),
            models=model_pb2_grpc.ModelServiceStub(channel),
            accounts=account_pb2_grpc.AccountServiceStub(channel),
            temporal=client,
            raw_temporal=temporal_env.client,
            store=store,
            settings=settings,
            key=key,
        )
    finally:
        await channel.close()
        await server.stop(None)
        store.close()
