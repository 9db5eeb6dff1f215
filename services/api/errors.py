"""The one place domain errors become gRPC status codes."""

from __future__ import annotations

import inspect
import logging
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from temporalio.service import RPCError, RPCStatusCode

from services.common.errors import (
    AlreadyExistsError,
    DatabaseUnavailableError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    VeilsyncError,
)
from services.common.logging import scrub

_log = logging.getLogger(__name__)

_CODES: list[tuple[type[VeilsyncError], grpc.StatusCode]] = [
    (InvalidArgumentError, grpc.StatusCode.INVALID_ARGUMENT),
    (NotFoundError, grpc.StatusCode.NOT_FOUND),
    (AlreadyExistsError, grpc.StatusCode.ALREADY_EXISTS),
    (FailedPreconditionError, grpc.StatusCode.FAILED_PRECONDITION),
    # The database may come back: UNAVAILABLE tells clients a retry is worth it.
    (DatabaseUnavailableError, grpc.StatusCode.UNAVAILABLE),
]

INTERNAL_MESSAGE = "internal error; the server log has the details"
TEMPORAL_UNAVAILABLE_MESSAGE = "the workflow service (Temporal) is unavailable; retry shortly"

Handler = Callable[[Any, Any], Any]


def status_code(error: VeilsyncError) -> grpc.StatusCode:
    for kind, code in _CODES:
        if isinstance(error, kind):
            return code
    # Raised on purpose but of a kind added later: the request cannot succeed as things are.
    return grpc.StatusCode.FAILED_PRECONDITION


def error_status(error: VeilsyncError) -> tuple[grpc.StatusCode, str, tuple[Any, ...]]:
    """Code, message and trailing metadata (google.rpc.Status with BadRequest details for
    invalid arguments, so clients can point at the field)."""
    code, message = status_code(error), scrub(str(error))
    if not isinstance(error, InvalidArgumentError):
        return code, message, ()
    detail = any_pb2.Any()
    detail.Pack(
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=error.field, description=scrub(error.description)
                )
            ]
        )
    )
    status = rpc_status.to_status(
        status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=message, details=[detail])
    )
    return code, message, tuple(status.trailing_metadata)


def unexpected_status(error: Exception) -> tuple[grpc.StatusCode, str]:
    """Code and message for an error nobody raised on purpose. An unreachable Temporal server
    may come back, so it is UNAVAILABLE (worth a retry); everything else is INTERNAL, with the
    details left in the server log."""
    if isinstance(error, RPCError) and error.status == RPCStatusCode.UNAVAILABLE:
        return grpc.StatusCode.UNAVAILABLE, TEMPORAL_UNAVAILABLE_MESSAGE
    return grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE


class DomainErrorInterceptor(grpc.aio.ServerInterceptor):
    """Wraps every unary-unary and unary-stream handler: domain errors get their status code,
    an unreachable Temporal server UNAVAILABLE, anything else is logged and answered INTERNAL
    without details."""

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _guarded(handler.unary_unary, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None and not method.startswith("/grpc."):
            return grpc.unary_stream_rpc_method_handler(
                _guarded_stream(handler.unary_stream, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler


def _guarded(inner: Handler, method: str) -> Handler:
    async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            result = inner(request, context)
            return await result if inspect.isawaitable(result) else result
        except grpc.aio.AbortError:
            raise
        except VeilsyncError as err:
            code, message, metadata = error_status(err)
            await context.abort(code, message, metadata)
        except NotImplementedError:
            # Generated base servicers set UNIMPLEMENTED before raising this.
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented")
        except Exception as err:
            await _abort_unexpected(context, err, method)

    return call


def _guarded_stream(inner: Handler, method: str) -> Handler:
    async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        try:
            async for response in inner(request, context):
                yield response
        except grpc.aio.AbortError:
            raise
        except VeilsyncError as err:
            code, message, metadata = error_status(err)
            await context.abort(code, message, metadata)
        except Exception as err:
            await _abort_unexpected(context, err, method)

    return call


async def _abort_unexpected(
    context: grpc.aio.ServicerContext[Any, Any], error: Exception, method: str
) -> None:
    code, message = unexpected_status(error)
    if code == grpc.StatusCode.INTERNAL:
        _log.error("unexpected error in %s:\n%s", method, scrub(traceback.format_exc()))
    else:
        _log.warning("%s failed: %s", method, scrub(str(error)))
    await context.abort(code, message)
