"""Temporal's HTTP codec-server protocol on the API's host, so that the Temporal Web UI can
show decrypted payloads to whoever holds an API key: POST /decode (and /encode when enabled)
take and return `{"payloads": [...]}` in protobuf JSON, checked against the same key store as
gRPC calls. A stdlib server in a thread: a handful of requests from a browser need no more.

The embedded stack's Web UI has no way to send a key, so `veilsync dev up` gives the server a
random token and the UI an endpoint with that token as its first path segment
(`http://host:port/<token>/decode`): that path needs no key. The token is never logged."""

import asyncio
import hmac
import json
import logging
import threading
from collections.abc import Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from services.api.auth import bearer_token
from services.common.errors import FailedPreconditionError
from services.common.settings import Settings
from services.common.store.api_keys import ApiKeyStore

_log = logging.getLogger(__name__)

_ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"


class CodecServer:
    """Serves until stop(); port 0 binds a free one (tests), read back from `port`."""

    def __init__(
        self,
        host: str,
        port: int,
        codec: PayloadCodec,
        keys: ApiKeyStore,
        *,
        origins: Sequence[str],
        encode: bool,
        max_bytes: int,
        ui_token: str = "",
    ) -> None:
        handler = type(
            "Handler",
            (_Handler,),
            {
                "codec": codec,
                "keys": keys,
                "origins": frozenset(origins),
                "paths": ("/decode", "/encode") if encode else ("/decode",),
                "max_bytes": max_bytes,
                "ui_token": ui_token,
            },
        )
        self._server = ThreadingHTTPServer((host, port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    codec: PayloadCodec
    keys: ApiKeyStore
    origins: frozenset[str]
    paths: tuple[str, ...]
    max_bytes: int
    ui_token: str

    def log_message(self, format: str, *args: object) -> None:
        line = format % args
        _log.debug(
            "codec server: %s", line.replace(self.ui_token, "***") if self.ui_token else line
        )

    def do_OPTIONS(self) -> None:
        # A preflight carries no credentials: it is answered for allowed origins only.
        self._reply(HTTPStatus.NO_CONTENT)

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        by_ui_token = self._without_ui_token(path)
        path = by_ui_token or path
        if path not in self.paths:
            self._reply(HTTPStatus.NOT_FOUND, b'{"message": "no such codec endpoint"}')
            return
        if by_ui_token is None and not self._holds_a_key():
            self._reply(HTTPStatus.UNAUTHORIZED, b'{"message": "send a valid API key"}')
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.max_bytes:
            # Refused before reading, so an oversized body costs no memory.
            self.close_connection = True
            self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b'{"message": "body too large"}')
            return
        try:
            payloads = json_format.Parse(self.rfile.read(length), Payloads())
            converted = asyncio.run(self._convert(path, list(payloads.payloads)))
        except (json_format.ParseError, UnicodeDecodeError) as err:
            self._reply(HTTPStatus.BAD_REQUEST, _message(f"not a Payloads message: {err}"))
            return
        except FailedPreconditionError as err:
            self._reply(HTTPStatus.BAD_REQUEST, _message(str(err)))
            return
        body = json_format.MessageToJson(Payloads(payloads=converted), indent=None)
        self._reply(HTTPStatus.OK, body.encode())

    def _without_ui_token(self, path: str) -> str | None:
        """The path after the UI token segment, or None when it does not start with it."""
        first, slash, rest = path.removeprefix("/").partition("/")
        if not (
            self.ui_token and slash and hmac.compare_digest(first.encode(), self.ui_token.encode())
        ):
            return None
        return f"/{rest}"

    def _holds_a_key(self) -> bool:
        token = bearer_token((("authorization", self.headers.get("Authorization", "")),))
        return token is not None and self.keys.authenticate(token) is not None

    async def _convert(self, path: str, payloads: list[Payload]) -> list[Payload]:
        if path == "/encode":
            return await self.codec.encode(payloads)
        return await self.codec.decode(payloads)

    def _reply(self, status: HTTPStatus, body: bytes = b"") -> None:
        self.send_response(status)
        origin = self.headers.get("Origin", "")
        if origin in self.origins:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Credentials", "true")
            self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", _ALLOWED_HEADERS)
            self.send_header("Vary", "Origin")
        if body:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _message(text: str) -> bytes:
    return json.dumps({"message": text}).encode()


def codec_server(settings: Settings, keys: ApiKeyStore, codec: PayloadCodec) -> CodecServer | None:
    """The codec server settings ask for, on the API's host, not started; None when off."""
    if not settings.codec_server_port:
        return None
    host = settings.api.rsplit(":", 1)[0].strip("[]")
    return CodecServer(
        host,
        settings.codec_server_port,
        codec,
        keys,
        origins=[o.strip() for o in settings.codec_server_origins.split(",") if o.strip()],
        encode=settings.codec_server_encode,
        max_bytes=settings.codec_server_max_bytes,
        ui_token=settings.codec_server_ui_token,
    )
