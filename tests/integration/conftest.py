"""An in-process API on a free port, over a temporary SQLite metadata store and the
session's Temporal dev server."""

from __future__ import annotations  # the async stub types exist only for type checkers

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography.fernet import Fernet
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from services.api.server import build_server
from services.common.secrets import SecretCipher
from services.common.settings import Settings
from services.common.store.store import MetadataStore
from veilsync.v1 import (
    connection_pb2_grpc,
    job_pb2_grpc,
    model_pb2_grpc,
    transformer_pb2_grpc,
)


@dataclass
class Api:
    channel: grpc.aio.Channel
    connections: connection_pb2_grpc.ConnectionServiceAsyncStub
    jobs: job_pb2_grpc.JobServiceAsyncStub
    transformers: transformer_pb2_grpc.TransformerServiceAsyncStub
    models: model_pb2_grpc.ModelServiceAsyncStub
    temporal: Client


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def api(tmp_path: Path, temporal_env: WorkflowEnvironment) -> AsyncIterator[Api]:
    store = MetadataStore(
        f"sqlite:///{tmp_path / 'metadata.db'}", SecretCipher(Fernet.generate_key())
    )
    store.migrate()
    settings = Settings(api=f"127.0.0.1:{_free_port()}", data_dir=tmp_path)
    server = await build_server(settings, store, temporal_env.client)
    await server.start()
    channel = grpc.aio.insecure_channel(settings.api)
    try:
        yield Api(
            channel=channel,
            connections=connection_pb2_grpc.ConnectionServiceStub(channel),
            jobs=job_pb2_grpc.JobServiceStub(channel),
            transformers=transformer_pb2_grpc.TransformerServiceStub(channel),
            models=model_pb2_grpc.ModelServiceStub(channel),
            temporal=temporal_env.client,
        )
    finally:
        await channel.close()
        await server.stop(None)
        store.close()
