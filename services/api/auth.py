"""Authentication of every RPC by API key, except health checks and reflection."""

from __future__ import annotations  # grpc types are generic only in their stubs

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from services.api.accounts import set_account
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
    if handler.unary_unary is not None:
        inner = handler.unary_unary

        async def unary(request: Any, context: Any) -> Any:
            set_account(account)
            return await inner(request, context)

        return grpc.unary_unary_rpc_method_handler(
            unary,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream is not None:
        inner_stream = handler.unary_stream

        async def stream(request: Any, context: Any) -> AsyncIterator[Any]:
            set_account(account)
            async for response in inner_stream(request, context):  # type: ignore[attr-defined]
                yield response

        return grpc.unary_stream_rpc_method_handler(
            stream,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.stream_unary is not None:  # UploadModel
        inner_upload = handler.stream_unary

        async def upload(request_iterator: Any, context: Any) -> Any:
            set_account(account)
            return await inner_upload(request_iterator, context)

        return grpc.stream_unary_rpc_method_handler(
            upload,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    return _refusal(handler)  # no bidirectional RPCs: nothing else needs an account


def _refusal(handler: grpc.RpcMethodHandler[Any, Any]) -> Any:
    message = "send a valid API key as 'authorization: Bearer <key>'"

    async def refuse(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    async def refuse_stream(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
        yield  # pragma: no cover - abort raises

    if handler.stream_unary is not None:
        # A refusal must keep the method's shape, or grpc reads the request stream wrongly.
        return grpc.stream_unary_rpc_method_handler(
            refuse,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            refuse_stream,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    return grpc.unary_unary_rpc_method_handler(
        refuse,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
