"""How the CLI fails: one message on stderr and an exit code a script can branch on."""

import sys
from typing import IO

import click
import grpc

# Exit codes, documented in the README; 2 is also click's code for a bad command line.
EXIT_FAILED = 1
EXIT_INVALID_ARGUMENT = 2
EXIT_NOT_FOUND = 3
EXIT_FAILED_PRECONDITION = 4
EXIT_ALREADY_EXISTS = 5
EXIT_UNAVAILABLE = 6
EXIT_UNAUTHENTICATED = 7

_STATUS_EXIT_CODES = {
    grpc.StatusCode.INVALID_ARGUMENT: EXIT_INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND: EXIT_NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION: EXIT_FAILED_PRECONDITION,
    grpc.StatusCode.ALREADY_EXISTS: EXIT_ALREADY_EXISTS,
    grpc.StatusCode.UNAVAILABLE: EXIT_UNAVAILABLE,
    grpc.StatusCode.UNAUTHENTICATED: EXIT_UNAUTHENTICATED,
    # A valid key without the right to act is the same fix for a script: another key.
    grpc.StatusCode.PERMISSION_DENIED: EXIT_UNAUTHENTICATED,
}


class CliError(Exception):
    """A failure reported as `error: <message>` with a chosen exit code; `main` reports it."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def show(self, file: IO[str] | None = None) -> None:
        click.echo(f"error: {self.message}", file=file or sys.stderr)


def from_rpc_error(err: grpc.RpcError, address: str, key_source: str = "") -> CliError:
    """The CliError for a failed call to the API at `address` with the key from `key_source`."""
    code = err.code() if isinstance(err, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = (err.details() if isinstance(err, grpc.Call) else None) or str(err)
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return CliError(
            f"UNAUTHENTICATED: the API at {address} refused the API key from {key_source}; "
            "pass a valid one with --api-key or VEILSYNC_API_KEY",
            EXIT_UNAUTHENTICATED,
        )
    if code == grpc.StatusCode.UNAVAILABLE and _is_transport_failure(details):
        return CliError(
            f"cannot reach the Veilsync API at {address}; is `veilsync dev up` running?",
            EXIT_UNAVAILABLE,
        )
    return CliError(f"{code.name}: {details}", _STATUS_EXIT_CODES.get(code, EXIT_FAILED))


def _is_transport_failure(details: str) -> bool:
    # The API itself answers UNAVAILABLE when a user's database is down; only gRPC's own
    # connection errors mean the API is not there.
    lowered = details.lower()
    return any(
        marker in lowered
        for marker in (
            "failed to connect",
            "connection refused",
            "dns resolution",
            "connect failed",
        )
    )
