"""What `veilsync dev up` wires for operators: each process's Prometheus endpoint, shown by
`dev status`, and the Temporal Web UI decoding payloads through the API's codec server."""

import asyncio
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload

from services.common.codec import AesGcmCodec, load_codec_key
from tests.e2e.conftest import Cli
from tests.integration.test_codec_server import _payloads_json

pytestmark = pytest.mark.e2e


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
        return body


def test_dev_status_shows_where_each_process_serves_metrics(cli: Cli) -> None:
    status = json.loads(cli.ok("dev", "status", "--json").stdout)
    up = {p["name"]: p["metrics"] for p in status["processes"] if p["state"] == "up"}
    assert {"temporal", "api", "sync-worker"} <= set(up), status
    # Each process on ports of its own: a shared port would serve one process's numbers.
    urls = [url for metrics in up.values() for url in metrics.values()]
    assert len(urls) == len(set(urls)) == 1 + 2 * (len(up) - 1), up
    assert set(up["api"]) == {"veilsync", "temporal-sdk"}
    for url in urls:
        assert b"# TYPE " in _get(url), url
    # The API's own endpoint counts the calls it answered, `dev status`'s health check first.
    assert b"veilsync_api_requests_total" in _get(up["api"]["veilsync"])
    assert b"temporal_request" in _get(up["sync-worker"]["temporal-sdk"])


def test_the_dev_web_ui_decodes_payloads_without_an_api_key(cli: Cli) -> None:
    ui = f"http://127.0.0.1:{cli.env['VEILSYNC_TEMPORAL_UI_PORT']}"
    # The endpoint the UI itself was given, as its browser code reads it.
    ui_settings: dict[str, Any] = json.loads(_get(f"{ui}/api/v1/settings"))
    endpoint = ui_settings["Codec"]["Endpoint"]
    data_dir = Path(cli.env["VEILSYNC_DATA_DIR"])
    codec = AesGcmCodec(load_codec_key("", data_dir))
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"a decoded row"')
    [encoded] = asyncio.run(codec.encode([plain]))
    request = urllib.request.Request(
        f"{endpoint}/decode",
        data=_payloads_json([encoded]),
        headers={"Content-Type": "application/json", "X-Namespace": "default", "Origin": ui},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Access-Control-Allow-Origin"] == ui
        [decoded] = json.loads(response.read())["payloads"]
    assert decoded["data"] == "ImEgZGVjb2RlZCByb3ci"  # base64 of the plain payload's data
    token = endpoint.rstrip("/").rsplit("/", 1)[1]
    api_key = (data_dir / "api-key").read_text().strip()
    assert token and token != api_key
    for log in (data_dir / "logs").glob("*.log"):
        assert token not in log.read_text(errors="replace"), log
