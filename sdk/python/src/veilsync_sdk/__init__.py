"""Veilsync's typed Python client, over the generated stubs of `veilsync.v1`.

from veilsync_sdk import Client

with Client("127.0.0.1:50051", api_key="vs_...") as client:
    run = client.jobs.run("nightly-qa")
    final = run.wait(on_progress=lambda p: print(f"{p.percent:.0f}%"))
"""

from veilsync_sdk.aio import AsyncClient, AsyncRun
from veilsync_sdk.calls.models import SampleResult
from veilsync_sdk.channel import open_aio_channel, open_channel
from veilsync_sdk.client import Client, Run
from veilsync_sdk.errors import (
    AlreadyExistsError,
    DeadlineExceededError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
    VeilsyncError,
)
from veilsync_sdk.reconnect import Backoff
from veilsync_sdk.status_details import FieldViolation

__all__ = [
    "AlreadyExistsError",
    "AsyncClient",
    "AsyncRun",
    "Backoff",
    "Client",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "FieldViolation",
    "InternalError",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "Run",
    "SampleResult",
    "UnauthenticatedError",
    "UnavailableError",
    "VeilsyncError",
    "open_aio_channel",
    "open_channel",
]
