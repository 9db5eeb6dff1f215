"""The API's codec server over real HTTP, against the real key store and payload codec:
what the Temporal Web UI sends it, and what it must refuse."""

import asyncio
import base64
import http.client
import json
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload

from services.api.codec_server import CodecServer
from services.common.codec import AesGcmCodec, new_key, parse_key
from services.common.contract import DEFAULT_ACCOUNT_ID
from tests.integration.conftest import metadata_store

UI_ORIGIN = "http://localhost:8233"
MAX_BYTES = 4_096
UI_TOKEN = secrets.token_urlsafe(32)


class Served:
    def __init__(self, port: int, key: str, codec: AesGcmCodec) -> None:
        self.port, self.key, self.codec = port, key, codec

    def post(
        self, path: str, body: bytes, headers: dict[str, str] | None = None
    ) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        connection.request("POST", path, body=body, headers=headers or {})
        return connection.getresponse()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    store = metadata_store(tmp_path)
    _, secret = store.api_keys.create(DEFAULT_ACCOUNT_ID, "ui")
    codec = AesGcmCodec(parse_key(new_key()))
    server = CodecServer(
        "127.0.0.1",
        0,
        codec,
        store.api_keys,
        origins=[UI_ORIGIN],
        encode=False,
        max_bytes=MAX_BYTES,
        ui_token=UI_TOKEN,
    )
    server.start()
    try:
        yield Served(server.port, secret, codec)
    finally:
        server.stop()
        store.close()


def _payloads_json(payloads: list[Payload]) -> bytes:
    """As the Web UI sends them: protobuf JSON, bytes in base64."""
    return json.dumps(
        {
            "payloads": [
                {
                    "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                    "data": base64.b64encode(p.data).decode(),
                }
                for p in payloads
            ]
        }
    ).encode()


def test_decode_returns_the_plaintext_payload(served: Served) -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"table": "public.customers"}')
    [encoded] = asyncio.run(served.codec.encode([plain]))
    response = served.post(
        "/decode",
        _payloads_json([encoded]),
        {"Authorization": f"Bearer {served.key}", "Origin": UI_ORIGIN},
    )
    assert response.status == 200
    assert response.getheader("Access-Control-Allow-Origin") == UI_ORIGIN
    [decoded] = json.loads(response.read())["payloads"]
    assert base64.b64decode(decoded["data"]) == plain.data
    assert base64.b64decode(decoded["metadata"]["encoding"]) == b"json/plain"


def test_the_dev_ui_decodes_with_the_token_in_its_endpoint(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """As the dev Web UI calls `--ui-codec-endpoint http://host:port/<token>`: no key."""
    caplog.set_level(logging.DEBUG)
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"a row"')
    [encoded] = asyncio.run(served.codec.encode([plain]))
    ui_headers = {"Content-Type": "application/json", "X-Namespace": "default", "Origin": UI_ORIGIN}
    response = served.post(f"/{UI_TOKEN}/decode", _payloads_json([encoded]), ui_headers)
    assert response.status == 200
    assert response.getheader("Access-Control-Allow-Origin") == UI_ORIGIN
    [decoded] = json.loads(response.read())["payloads"]
    assert base64.b64decode(decoded["data"]) == plain.data
    assert served.post(f"/{UI_TOKEN}/encode", b"{}", ui_headers).status == 404
    for wrong in (f"/{UI_TOKEN[:-1]}/decode", f"/x{UI_TOKEN}/decode", f"/{UI_TOKEN}"):
        refused = served.post(wrong, _payloads_json([encoded]), ui_headers)
        assert refused.status == 404
        assert plain.data not in refused.read()
    assert "/decode" in caplog.text and UI_TOKEN not in caplog.text


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-key", "Basic abc"])
def test_decode_refuses_a_request_without_a_valid_key(
    served: Served, authorization: str | None
) -> None:
    [encoded] = asyncio.run(served.codec.encode([Payload(data=b"secret row")]))
    headers = {"Authorization": authorization} if authorization else {}
    response = served.post("/decode", _payloads_json([encoded]), headers)
    assert response.status == 401
    assert b"secret row" not in response.read()


def test_encode_is_off_unless_enabled(served: Served) -> None:
    response = served.post(
        "/encode", _payloads_json([Payload(data=b"x")]), {"Authorization": f"Bearer {served.key}"}
    )
    assert response.status == 404


def test_preflight_answers_the_ui_origin_only(served: Served) -> None:
    def preflight(origin: str) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
        connection.request(
            "OPTIONS",
            "/decode",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
            },
        )
        return connection.getresponse()

    allowed = preflight(UI_ORIGIN)
    assert allowed.status == 204
    assert allowed.getheader("Access-Control-Allow-Origin") == UI_ORIGIN
    assert "POST" in (allowed.getheader("Access-Control-Allow-Methods") or "")
    assert "Authorization" in (allowed.getheader("Access-Control-Allow-Headers") or "")
    assert preflight("https://evil.example").getheader("Access-Control-Allow-Origin") is None


def test_an_oversized_body_is_refused(served: Served) -> None:
    big = _payloads_json([Payload(data=b"x" * MAX_BYTES)])
    response = served.post("/decode", big, {"Authorization": f"Bearer {served.key}"})
    assert response.status == 413
