"""TLS handshakes with a generated CA: the API serving TLS (optionally requiring client
certificates) to the CLI, and the Temporal client's mTLS settings against a TLS-terminating
gRPC proxy (nginx, as Debian packages it) in front of the session's dev server, which has no
TLS of its own."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner
from temporalio.testing import WorkflowEnvironment

from services.api.server import build_server
from services.cli.api_client import DEFAULT_TIMEOUT_S, open_api
from services.cli.errors import CliError
from services.cli.main import cli
from services.common.codec import new_key
from services.common.contract import DEFAULT_ACCOUNT_ID
from services.common.settings import Settings
from services.common.temporal import connect
from services.sync_worker.worker import MAX_CONCURRENT_ACTIVITIES, build_worker
from tests.integration.conftest import Api, _free_port, metadata_store, stubs_for
from tests.integration.test_api_runs import shop_api_job
from tests.integration.test_run_verification import connections, run_to_end
from tests.servers import unavailable
from tests.tls_certs import Pki, make_pki
from veilsync.v1 import account_pb2, connection_pb2_grpc, job_pb2_grpc
from veilsync.v1 import job_pb2 as j

pytestmark = pytest.mark.integration


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


async def _serve_api(
    tmp_path: Path, temporal_env: WorkflowEnvironment, pki: Pki, client_ca: bool
) -> AsyncIterator[tuple[Settings, str]]:
    """An API serving TLS on a free port; yields the client-side settings (no TLS yet) and a
    valid API key."""
    store = metadata_store(tmp_path)
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


# nginx as Debian packages it, terminating TLS in front of the dev server (which has none).
# Long polls hold a call for up to 70 s: the read timeout must outlast them.
_NGINX_CONF = """
pid {run}/nginx.pid;
error_log {run}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {pki.server_cert};
        ssl_certificate_key {pki.server_key};
        ssl_client_certificate {pki.ca};
        ssl_verify_client on;
        client_max_body_size 0;
        location / {{
            grpc_pass grpc://{upstream};
            grpc_read_timeout 300s;
            grpc_send_timeout 300s;
        }}
    }}
}}
"""


def _nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        unavailable("no nginx (apt-get install nginx-light; .ci/services.sh installs it)")
    return found


def _wait_listening(port: int, nginx: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(200):
        if nginx.poll() is not None:
            raise RuntimeError(f"nginx exited ({nginx.returncode}): {log.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nginx is not listening on {port}: {log.read_text()}")


@pytest.fixture
def temporal_mtls_proxy(
    temporal_env: WorkflowEnvironment, pki: Pki, tmp_path: Path
) -> Iterator[str]:
    """host:port of nginx, unprivileged and in the foreground, requiring a client certificate
    signed by the test CA and passing gRPC to the session's dev server."""
    binary = _nginx_binary()
    run = tmp_path / "nginx"
    run.mkdir()
    port = _free_port()
    upstream = temporal_env.client.service_client.config.target_host
    conf = run / "nginx.conf"
    conf.write_text(_NGINX_CONF.format(run=run, port=port, pki=pki, upstream=upstream))
    argv = [binary, "-p", str(run), "-c", str(conf), "-e", str(run / "error.log")]
    nginx = subprocess.Popen([*argv, "-g", "daemon off;"], stderr=subprocess.STDOUT)
    try:
        _wait_listening(port, nginx, run / "error.log")
        yield f"127.0.0.1:{port}"
    finally:
        nginx.terminate()
        nginx.wait(10)


def temporal_tls_settings(
    settings: Settings, address: str, pki: Pki, client_cert: bool
) -> Settings:
    """`settings` dialling Temporal at `address` with the VEILSYNC_TEMPORAL_TLS_* settings,
    with or without the client certificate."""
    update = {
        "temporal_address": address,
        "temporal_tls_ca_file": str(pki.ca),
        # The proxy is dialled by IP; its certificate is checked against this name.
        "temporal_tls_server_name": "localhost",
    }
    if client_cert:
        update |= {
            "temporal_tls_cert_file": str(pki.client_cert),
            "temporal_tls_key_file": str(pki.client_key),
        }
    return settings.model_copy(update=update)


@pytest.fixture
async def api_through_nginx(api: Api, temporal_mtls_proxy: str, pki: Pki) -> AsyncIterator[Api]:
    """The test API again, on its own port, and a sync worker, both reaching Temporal only
    through nginx with mTLS."""
    settings = temporal_tls_settings(api.settings, temporal_mtls_proxy, pki, client_cert=True)
    settings = settings.model_copy(update={"api": f"127.0.0.1:{_free_port()}"})
    client = await connect(settings)
    server = await build_server(settings, api.store, client)
    await server.start()
    channel, _ = stubs_for(settings.api, api.key.secret)
    try:
        with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
            async with build_worker(client, api.store, executor, settings.sync_task_queue):
                yield dataclasses.replace(
                    api,
                    channel=channel,
                    connections=connection_pb2_grpc.ConnectionServiceStub(channel),
                    jobs=job_pb2_grpc.JobServiceStub(channel),
                    temporal=client,
                    settings=settings,
                )
    finally:
        await channel.close()
        await server.stop(None)


async def test_a_run_completes_through_nginx_with_mtls(
    api_through_nginx: Api, pg_database: Callable[[str], str]
) -> None:
    await connections(api_through_nginx, pg_database)
    run = await run_to_end(api_through_nginx, shop_api_job())
    assert run.status == j.RUN_STATUS_SUCCEEDED, run.failure_message
    assert all(t.rows_written > 0 for t in run.verification.tables)


async def test_nginx_refuses_a_client_without_a_cert(
    api: Api, temporal_mtls_proxy: str, pki: Pki
) -> None:
    settings = temporal_tls_settings(api.settings, temporal_mtls_proxy, pki, client_cert=False)
    with pytest.raises(RuntimeError, match=r"(?i)connect"):
        await connect(settings)
