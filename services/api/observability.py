"""One interceptor that watches every API call: a span, the request metrics and one log line.

Outermost of the server's interceptors, so it sees the status code the error interceptor
chose and the account the authentication interceptor set. It logs the method, the code, the
duration and the account only: never the request, which may carry a URL or a key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from services.api.accounts import current_account
from services.api.handlers import rewrapped
from services.common.observability.metrics import API_REQUEST_SECONDS, API_REQUESTS

_log = logging.getLogger("services.api.requests")


class ObservabilityInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, tracer: trace.Tracer | None = None) -> None:
        self._tracer = tracer or trace.get_tracer("veilsync.api")

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith("/grpc."):
            return handler  # health checks and reflection would drown the log
        watched = rewrapped(
            handler,
            lambda inner: self._watched(inner, method),
            lambda inner: self._watched_stream(inner, method),
        )
        return watched or handler

    def _watched(self, inner: Any, method: str) -> Any:
        async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            with self._tracer.start_as_current_span(method, kind=SpanKind.SERVER) as span:
                started = time.perf_counter()
                try:
                    return await inner(request, context)
                finally:
                    _finish(span, method, context, started)

        return call

    def _watched_stream(self, inner: Any, method: str) -> Any:
        async def call(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            with self._tracer.start_as_current_span(method, kind=SpanKind.SERVER) as span:
                started = time.perf_counter()
                try:
                    async for response in inner(request, context):
                        yield response
                finally:
                    _finish(span, method, context, started)

        return call


def _finish(
    span: trace.Span, method: str, context: grpc.aio.ServicerContext[Any, Any], started: float
) -> None:
    seconds = time.perf_counter() - started
    # code() is None when the handler returned without setting one: that is OK.
    code = (context.code() or grpc.StatusCode.OK).name
    account = current_account() or ""
    API_REQUESTS.labels(method=method, code=code).inc()
    API_REQUEST_SECONDS.labels(method=method, code=code).observe(seconds)
    span.set_attribute("rpc.grpc.status_code", code)
    if account:
        span.set_attribute("veilsync.account", account)
    if code != "OK":
        span.set_status(Status(StatusCode.ERROR, code))
    _log.info(
        "%s %s %.1fms account=%s",
        method,
        code,
        seconds * 1000,
        account or "-",
        extra={
            "rpc_method": method,
            "code": code,
            "duration_ms": round(seconds * 1000, 3),
            "account": account,
        },
    )
