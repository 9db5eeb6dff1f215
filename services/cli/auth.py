"""The API key the CLI sends, and the channel interceptor that sends it on every call."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

import grpc

from services.cli.errors import EXIT_UNAUTHENTICATED, CliError
from services.common.settings import Settings

_Request = TypeVar("_Request")
_Response = TypeVar("_Response")


@dataclass(frozen=True)
class ApiKey:
    secret: str
    # Where the key came from, so a refusal can say which key to fix.
    source: str


def resolve_api_key(settings: Settings) -> ApiKey:
    """--api-key / VEILSYNC_API_KEY, else the key file the API writes into data_dir."""
    if settings.api_key.strip():
        return ApiKey(settings.api_key.strip(), "--api-key / VEILSYNC_API_KEY")
    path = settings.api_key_file()
    try:
        secret = path.read_text().strip()
    except FileNotFoundError:
        secret = ""
    except OSError as err:
        raise CliError(
            f"cannot read the API key file {path}: {err.strerror}", EXIT_UNAUTHENTICATED
        ) from err
    if not secret:
        raise CliError(
            "no API key: pass --api-key (or set VEILSYNC_API_KEY), or point VEILSYNC_DATA_DIR "
            f"at the stack whose API wrote {path} (`veilsync dev up` creates it)",
            EXIT_UNAUTHENTICATED,
        )
    return ApiKey(secret, str(path))


class _CallDetails(NamedTuple):
    method: str
    timeout: float | None
    metadata: Any
    credentials: grpc.CallCredentials | None
    wait_for_ready: bool | None
    compression: grpc.Compression | None


class _Details(_CallDetails, grpc.ClientCallDetails):
    """grpc wants a ClientCallDetails; a NamedTuple gives its fields without boilerplate."""


class BearerInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
):
    """Adds `authorization: Bearer <key>` to every call on the channel, whatever its shape."""

    def __init__(self, secret: str) -> None:
        self._header = ("authorization", f"Bearer {secret}")

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        return _Details(
            method=details.method,
            timeout=details.timeout,
            metadata=[*(details.metadata or ()), self._header],
            credentials=details.credentials,
            wait_for_ready=details.wait_for_ready,
            compression=details.compression,
        )

    def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.ClientCallDetails, _Request], Any],
        client_call_details: grpc.ClientCallDetails,
        request: _Request,
    ) -> Any:
        return continuation(self._details(client_call_details), request)

    def intercept_unary_stream(
        self,
        continuation: Callable[[grpc.ClientCallDetails, _Request], Any],
        client_call_details: grpc.ClientCallDetails,
        request: _Request,
    ) -> Any:
        return continuation(self._details(client_call_details), request)

    def intercept_stream_unary(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Iterator[_Request]], Any],
        client_call_details: grpc.ClientCallDetails,
        request_iterator: Iterator[_Request],
    ) -> Any:
        return continuation(self._details(client_call_details), request_iterator)
