"""Errors nobody raised on purpose, as gRPC status codes."""

import grpc
import pytest
from temporalio.service import RPCError, RPCStatusCode

from services.api.errors import INTERNAL_MESSAGE, unexpected_status


def rpc_error(status: RPCStatusCode, message: str = "connection refused") -> RPCError:
    return RPCError(message, status, b"")


def test_temporal_down_is_unavailable_with_a_clear_message() -> None:
    code, message = unexpected_status(
        rpc_error(RPCStatusCode.UNAVAILABLE, "tcp connect error: 127.0.0.1:7233")
    )
    assert code == grpc.StatusCode.UNAVAILABLE
    assert "Temporal" in message and "unavailable" in message
    assert "127.0.0.1" not in message  # the address stays in the server log


@pytest.mark.parametrize(
    "status", [RPCStatusCode.INTERNAL, RPCStatusCode.UNKNOWN, RPCStatusCode.DEADLINE_EXCEEDED]
)
def test_other_temporal_errors_stay_internal(status: RPCStatusCode) -> None:
    assert unexpected_status(rpc_error(status)) == (grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyError("x"), ConnectionError()])
def test_anything_else_is_internal_without_details(error: Exception) -> None:
    assert unexpected_status(error) == (grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)
