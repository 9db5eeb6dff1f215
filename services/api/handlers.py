"""Wrapping a method handler's behaviour while keeping its shape: what the server's
interceptors share."""

from __future__ import annotations  # grpc types are generic only in their stubs

from collections.abc import Callable
from typing import Any

import grpc

Behaviour = Callable[[Any, Any], Any]
Wrap = Callable[[Behaviour], Behaviour]


def rewrapped(
    handler: grpc.RpcMethodHandler[Any, Any], unary: Wrap, stream: Wrap
) -> grpc.RpcMethodHandler[Any, Any] | None:
    """`handler` with `unary` around a behaviour that answers once (unary-unary, or
    stream-unary, whose first argument is the request iterator) and `stream` around a
    unary-stream one; None for a bidirectional handler, which this server does not serve."""
    serializers: dict[str, Any] = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(unary(handler.unary_unary), **serializers)
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(unary(handler.stream_unary), **serializers)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(stream(handler.unary_stream), **serializers)
    return None
