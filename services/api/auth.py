"""Authentication of every RPC by API key, except health checks and reflection."""

from __future__ import annotations  # grpc types are generic only in their stubs

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from services.api.accounts import set_account
from services.api.handlers import Behaviour, rewrapped
from services.common.store.api_keys import ApiKeyStore

_log = logging.getLogger(__name__)

OPEN_SERVICES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)
_BEARER = "bearer "


def bearer_token(metadata: tuple[tuple[str, str | bytes], ...] | None) -> str | None:
    for key, value in metadata or ():
        if (
            key.lower() == "authorization"
            and isinstance(value, str)
            and value[: len(_BEARER)].lower() == _BEARER
        ):
            return value[len(_BEARER) :].strip() or None
    return None


class AuthInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, keys: ApiKeyStore) -> None:
        self._keys = keys

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(OPEN_SERVICES):
            return handler
        token = bearer_token(handler_call_details.invocation_metadata)
        account = await asyncio.to_thread(self._keys.authenticate, token) if token else None
        if account is None:
            _log.info("unauthenticated call to %s", method)
            refusal: grpc.RpcMethodHandler[Any, Any] = _refusal(handler)
            return refusal
        wrapped: grpc.RpcMethodHandler[Any, Any] = _as_account(handler, account)
        return wrapped


def _as_account(handler: grpc.RpcMethodHandler[Any, Any], account: str) -> Any:
    def unary(inner: Behaviour) -> Behaviour:
        async def call(request: Any, context: Any) -> Any:
            set_account(account)
            return await inner(request, context)

        return call

    def stream(inner: Behaviour) -> Behaviour:
        async def call(request: Any, context: Any) -> AsyncIterator[Any]:
            set_account(account)
            async for response in inner(request, context):
                yield response

        return call

    # No bidirectional RPCs: nothing else needs an account.
    return rewrapped(handler, unary, stream) or _refusal(handler)


def _refusal(handler: grpc.RpcMethodHandler[Any, Any]) -> Any:
    message = "send a valid API key as 'authorization: Bearer <key>'"

    async def refuse(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    async def refuse_stream(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
        yield  # pragma: no cover - abort raises

    # A refusal must keep the method's shape, or grpc reads the request stream wrongly.
    return rewrapped(handler, lambda _: refuse, lambda _: refuse_stream) or (
        grpc.unary_unary_rpc_method_handler(
            refuse,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    )
