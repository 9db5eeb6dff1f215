"""TLS handshakes with a generated CA: the API serving TLS (optionally requiring client
certificates) to the CLI, and the Temporal client's mTLS settings against a TLS-terminating
gRPC proxy in front of the session's dev server, which has no TLS of its own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from temporalio.testing import WorkflowEnvironment

from services.api.search_attributes import ensure_search_attributes
from services.api.server import build_server
from services.cli.api_client import DEFAULT_TIMEOUT_S, open_api
from services.cli.errors import CliError
from services.cli.main import cli
from services.common.codec import new_key
from services.common.contract import DEFAULT_ACCOUNT_ID
from services.common.secrets import SecretCipher
from services.common.settings import Settings
from services.common.store.store import MetadataStore
from services.common.temporal import connect
from tests.integration.conftest import _free_port
from tests.tls_certs import Pki, make_pki
from veilsync.v1 import account_pb2

pytestmark = pytest.mark.integration


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


async def _serve_api(
    tmp_path: Path, temporal_env: WorkflowEnvironment, pki: Pki, client_ca: bool
) -> AsyncIterator[tuple[Settings, str]]:
    """An API serving TLS on a free port; yields the client-side settings (no TLS yet) and a
    valid API key."""
    store = MetadataStore(
        f"sqlite:///{tmp_path / 'metadata.db'}", SecretCipher(Fernet.generate_key())
    )
    store.migrate()
    settings = Settings(
        api=f"127.0.0.1:{_free_port()}",
        data_dir=tmp_path,
        codec_key=new_key(),
        api_tls_cert=str(pki.server_cert),
        api_tls_key=str(pki.server_key),
        api_tls_client_ca=str(pki.ca) if client_ca else "",
    )
    _, secret = store.api_keys.create(DEFAULT_ACCOUNT_ID, "tls-tests")
    server = await build_server(settings, store, temporal_env.client)
    await server.start()
    try:
        yield Settings(api=settings.api, data_dir=tmp_path, api_key=secret), secret
    finally:
        await server.stop(None)
        store.close()


@pytest.fixture
async def tls_api(
    tmp_path: Path, temporal_env: WorkflowEnvironment, pki: Pki
) -> AsyncIterator[tuple[Settings, str]]:
    async for served in _serve_api(tmp_path, temporal_env, pki, client_ca=False):
        yield served


@pytest.fixture
async def mtls_api(
    tmp_path: Path, temporal_env: WorkflowEnvironment, pki: Pki
) -> AsyncIterator[tuple[Settings, str]]:
    async for served in _serve_api(tmp_path, temporal_env, pki, client_ca=True):
        yield served


def _get_account(settings: Settings) -> str:
    with open_api(settings) as api:
        response = api.accounts.GetAccount(
            account_pb2.GetAccountRequest(), timeout=DEFAULT_TIMEOUT_S
        )
        return response.account_id


# The CLI's channel is synchronous and the API runs on this event loop: call from a thread.
async def get_account(settings: Settings) -> str:
    return await asyncio.to_thread(_get_account, settings)


async def test_cli_flags_dial_tls_with_the_ca(tls_api: tuple[Settings, str], pki: Pki) -> None:
    settings, secret = tls_api
    args = ["--api", settings.api, "--api-key", secret, "--tls", "--ca-file", str(pki.ca)]
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, [*args, "connections", "list"], catch_exceptions=True
    )
    assert result.exception is None, result.output
    assert result.exit_code == 0


async def test_channel_with_the_ca_succeeds(tls_api: tuple[Settings, str], pki: Pki) -> None:
    settings, _ = tls_api
    assert await get_account(replace_settings(settings, api_ca_file=str(pki.ca)))


async def test_plaintext_to_a_tls_api_fails(tls_api: tuple[Settings, str]) -> None:
    settings, _ = tls_api
    with pytest.raises(CliError, match=r"UNAVAILABLE|cannot reach"):
        await get_account(settings)


async def test_a_wrong_ca_fails(tls_api: tuple[Settings, str], pki: Pki, tmp_path: Path) -> None:
    settings, _ = tls_api
    other = make_pki(tmp_path / "other", name="other")
    with pytest.raises(CliError, match=r"UNAVAILABLE|cannot reach"):
        await get_account(replace_settings(settings, api_ca_file=str(other.ca)))


async def test_client_ca_refuses_a_call_without_a_client_cert(
    mtls_api: tuple[Settings, str], pki: Pki
) -> None:
    settings = replace_settings(mtls_api[0], api_ca_file=str(pki.ca))
    with pytest.raises(CliError, match=r"UNAVAILABLE|cannot reach"):
        await get_account(settings)
    with_cert = replace_settings(
        settings, api_client_cert=str(pki.client_cert), api_client_key=str(pki.client_key)
    )
    assert await get_account(with_cert)


def replace_settings(settings: Settings, **update: str) -> Settings:
    return settings.model_copy(update=update)


class _Forward(grpc.GenericRpcHandler):
    """Every unary call, as raw bytes, to an upstream channel: all of Temporal's frontend
    API is unary (long polls included), so this is a complete TLS-terminating proxy for it."""

    def __init__(self, upstream: grpc.aio.Channel) -> None:
        self._upstream = upstream

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[bytes, bytes] | None:
        call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = self._upstream.unary_unary(
            handler_call_details.method
        )

        async def forward(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
            metadata = [(k, v) for k, v in context.invocation_metadata() or () if k != "user-agent"]
            try:
                response: bytes = await call(
                    request, metadata=metadata, timeout=context.time_remaining()
                )
            except grpc.aio.AioRpcError as err:
                await context.abort(err.code(), err.details() or "")
            return response

        handler: grpc.RpcMethodHandler[bytes, bytes] = grpc.unary_unary_rpc_method_handler(forward)
        return handler


@pytest.fixture
async def temporal_mtls_proxy(temporal_env: WorkflowEnvironment, pki: Pki) -> AsyncIterator[str]:
    """host:port of a proxy that requires a client certificate signed by the test CA."""
    upstream = grpc.aio.insecure_channel(temporal_env.client.service_client.config.target_host)
    server = grpc.aio.server()
    server.add_generic_rpc_handlers([_Forward(upstream)])
    credentials = grpc.ssl_server_credentials(
        [(pki.server_key.read_bytes(), pki.server_cert.read_bytes())],
        root_certificates=pki.ca.read_bytes(),
        require_client_auth=True,
    )
    address = f"127.0.0.1:{_free_port()}"
    server.add_secure_port(address, credentials)
    await server.start()
    try:
        yield address
    finally:
        await server.stop(None)
        await upstream.close()


async def test_temporal_mtls_with_the_client_cert_succeeds(
    temporal_mtls_proxy: str, pki: Pki, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        codec_key=new_key(),
        temporal_address=temporal_mtls_proxy,
        temporal_tls_ca_file=str(pki.ca),
        temporal_tls_cert_file=str(pki.client_cert),
        temporal_tls_key_file=str(pki.client_key),
        # The proxy is dialled by IP; its certificate is checked against this name.
        temporal_tls_server_name="localhost",
    )
    client = await connect(settings)
    # A real round trip through the proxy, as the API makes at start-up.
    await ensure_search_attributes(client.operator_service, client.namespace)
    await client.count_workflows(f"WorkflowId = '{uuid.uuid4()}'")


async def test_temporal_mtls_without_a_client_cert_fails(
    temporal_mtls_proxy: str, pki: Pki, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        codec_key=new_key(),
        temporal_address=temporal_mtls_proxy,
        temporal_tls_ca_file=str(pki.ca),
        temporal_tls_server_name="localhost",
    )
    with pytest.raises(RuntimeError, match=r"(?i)connect"):
        await connect(settings)
