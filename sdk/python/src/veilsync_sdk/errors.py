"""Failed calls as typed exceptions, one class per gRPC status code a caller may act on.

Every error the client raises is a VeilsyncError keeping the status code, the server's message
and the status details; `except NotFoundError` reads better than comparing codes.
"""

from typing import Any

import grpc
from google.protobuf import any_pb2

from veilsync_sdk.status_details import FieldViolation, field_violations, status_details


class VeilsyncError(Exception):
    """A call the API refused or could not answer."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        details: tuple[any_pb2.Any, ...] = (),
    ) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        # The google.rpc.Status details, packed; field_violations reads the BadRequest ones.
        self.details = details

    @property
    def field_violations(self) -> tuple[FieldViolation, ...]:
        """The request fields at fault, for an INVALID_ARGUMENT that names them."""
        return field_violations(self.details)


class InvalidArgumentError(VeilsyncError):
    """The request is wrong as written: a bad field, an unknown table, a malformed job."""


class NotFoundError(VeilsyncError):
    """The connection, job, run, model or transformer named does not exist."""


class AlreadyExistsError(VeilsyncError):
    """Something of that name exists already."""


class FailedPreconditionError(VeilsyncError):
    """The request is valid but the state forbids it now, such as deleting a running job."""


class UnauthenticatedError(VeilsyncError):
    """No API key, or one the API does not know."""


class PermissionDeniedError(VeilsyncError):
    """The API key may not do this."""


class UnavailableError(VeilsyncError):
    """The API, Temporal or a database is unreachable now; retrying later may work."""


class DeadlineExceededError(VeilsyncError):
    """The call or the wait ran out of time."""


class ResourceExhaustedError(VeilsyncError):
    """A size or rate limit was hit, such as a message larger than the API takes."""


class InternalError(VeilsyncError):
    """The server failed; its log has the details."""


_BY_CODE: dict[grpc.StatusCode, type[VeilsyncError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.INTERNAL: InternalError,
}


def error_for(code: grpc.StatusCode, message: str, trailing_metadata: Any = None) -> VeilsyncError:
    """The exception for a status: its class by code, its details from the trailers."""
    kind = _BY_CODE.get(code, VeilsyncError)
    return kind(code, message, status_details(trailing_metadata))


def from_rpc_error(error: grpc.RpcError) -> VeilsyncError:
    """The exception for a failed call, sync (grpc.Call) or asyncio (grpc.aio.AioRpcError)."""
    if isinstance(error, grpc.Call | grpc.aio.AioRpcError):
        return error_for(error.code(), error.details() or "", error.trailing_metadata())
    return VeilsyncError(grpc.StatusCode.UNKNOWN, str(error))
