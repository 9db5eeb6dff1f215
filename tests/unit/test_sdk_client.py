"""The SDK's clients against a real gRPC server in this process: status codes arrive as typed
exceptions with their details, and a run's wait reconnects when the stream breaks."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest

from services.api.errors import error_status
from services.common.errors import InvalidArgumentError
from tests.tls_certs import make_pki
from veilsync.v1 import job_pb2, job_pb2_grpc
from veilsync_sdk import (
    AlreadyExistsError,
    AsyncClient,
    Backoff,
    Client,
    DeadlineExceededError,
    FailedPreconditionError,
    FieldViolation,
    InternalError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
    UnavailableError,
    VeilsyncError,
)
from veilsync_sdk.channel import Target
from veilsync_sdk.reconnect import Reconnects

KEY = "vs_test-key"
RUNNING, SUCCEEDED = job_pb2.RUN_STATUS_RUNNING, job_pb2.RUN_STATUS_SUCCEEDED
FAST = Backoff(first_s=0.01, most_s=0.02, attempts=3)

# How one WatchJobRunProgress call goes: rows_read of each message sent, then how it ends:
# None closes the stream, a status code aborts it, SUCCEEDED sends a final message.
Episode = tuple[tuple[int, ...], grpc.StatusCode | int | None]


@dataclass
class FakeJobs(job_pb2_grpc.JobServiceServicer):
    """GetJob fails with the status code its job name spells; watches follow `episodes`."""

    episodes: list[Episode] = field(default_factory=list)
    watches: int = 0
    keys: list[str] = field(default_factory=list)

    def GetJob(self, request: job_pb2.GetJobRequest, context: Any) -> job_pb2.GetJobResponse:
        code = grpc.StatusCode[request.job.name]
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            _, message, trailers = error_status(InvalidArgumentError("job.name", "is required"))
            context.set_trailing_metadata(trailers)
            context.abort(code, message)
        context.abort(code, f"refused with {code.name}")
        raise AssertionError("abort raises")

    def GetJobRun(
        self, request: job_pb2.GetJobRunRequest, context: Any
    ) -> job_pb2.GetJobRunResponse:
        return job_pb2.GetJobRunResponse(run=job_pb2.JobRun(id=request.run_id, status=SUCCEEDED))

    def WatchJobRunProgress(
        self, request: job_pb2.WatchJobRunProgressRequest, context: Any
    ) -> Iterator[job_pb2.WatchJobRunProgressResponse]:
        self.keys.extend(v for k, v in context.invocation_metadata() if k == "authorization")
        sent, ending = self.episodes[min(self.watches, len(self.episodes) - 1)]
        self.watches += 1
        for rows in sent:
            progress = job_pb2.JobRunProgress(status=RUNNING, rows_read=rows)
            yield job_pb2.WatchJobRunProgressResponse(progress=progress)
        if ending == SUCCEEDED:
            final = job_pb2.JobRunProgress(status=SUCCEEDED, rows_read=100)
            yield job_pb2.WatchJobRunProgressResponse(progress=final)
        elif isinstance(ending, grpc.StatusCode):
            context.abort(ending, "the API is restarting")


@contextmanager
def serving(credentials: grpc.ServerCredentials | None = None) -> Iterator[tuple[FakeJobs, str]]:
    servicer = FakeJobs()  # type: ignore[abstract]  # only the RPCs used are served
    server = grpc.server(ThreadPoolExecutor(4))
    job_pb2_grpc.add_JobServiceServicer_to_server(servicer, server)
    address = "127.0.0.1:0"
    if credentials is None:
        port = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, credentials)
    server.start()
    try:
        yield servicer, f"127.0.0.1:{port}"
    finally:
        server.stop(None)


@pytest.fixture
def fake() -> Iterator[tuple[FakeJobs, str]]:
    with serving() as served:
        yield served


CODES = [
    (grpc.StatusCode.NOT_FOUND, NotFoundError),
    (grpc.StatusCode.ALREADY_EXISTS, AlreadyExistsError),
    (grpc.StatusCode.FAILED_PRECONDITION, FailedPreconditionError),
    (grpc.StatusCode.PERMISSION_DENIED, PermissionDeniedError),
    (grpc.StatusCode.UNAUTHENTICATED, UnauthenticatedError),
    (grpc.StatusCode.UNAVAILABLE, UnavailableError),
    (grpc.StatusCode.INTERNAL, InternalError),
]


@pytest.mark.parametrize(("code", "kind"), CODES)
def test_a_status_code_is_its_exception(
    fake: tuple[FakeJobs, str], code: grpc.StatusCode, kind: type[VeilsyncError]
) -> None:
    with Client(fake[1], api_key=KEY) as client, pytest.raises(kind) as caught:
        client.jobs.get(code.name)
    assert caught.value.code == code
    assert caught.value.message == f"refused with {code.name}"
    assert caught.value.details == ()


def test_an_unmapped_code_is_the_base_error(fake: tuple[FakeJobs, str]) -> None:
    with Client(fake[1], api_key=KEY) as client, pytest.raises(VeilsyncError) as caught:
        client.jobs.get("ABORTED")
    assert type(caught.value) is VeilsyncError and caught.value.code == grpc.StatusCode.ABORTED


def test_invalid_argument_names_the_field(fake: tuple[FakeJobs, str]) -> None:
    with Client(fake[1], api_key=KEY) as client, pytest.raises(VeilsyncError) as caught:
        client.jobs.get("INVALID_ARGUMENT")
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.field_violations == (FieldViolation("job.name", "is required"),)


async def test_the_async_client_raises_the_same(fake: tuple[FakeJobs, str]) -> None:
    async with AsyncClient(fake[1], api_key=KEY) as client:
        with pytest.raises(NotFoundError):
            await client.jobs.get("NOT_FOUND")
        with pytest.raises(VeilsyncError) as caught:
            await client.jobs.get("INVALID_ARGUMENT")
    assert caught.value.field_violations == (FieldViolation("job.name", "is required"),)


# Broken by UNAVAILABLE, then closed early, then the run ends.
FLAKY: list[Episode] = [((10,), grpc.StatusCode.UNAVAILABLE), ((20, 30), None), ((), SUCCEEDED)]


def test_wait_reconnects_until_the_run_ends(fake: tuple[FakeJobs, str]) -> None:
    servicer, address = fake
    servicer.episodes = FLAKY
    seen: list[int] = []
    with Client(address, api_key=KEY, backoff=FAST) as client:
        run = client.runs.wait("run-1", on_progress=lambda p: seen.append(p.rows_read))
    assert run.id == "run-1" and run.status == SUCCEEDED
    assert seen == [10, 20, 30, 100]
    assert servicer.watches == 3
    assert servicer.keys == [f"Bearer {KEY}"] * 3


async def test_async_wait_reconnects_until_the_run_ends(fake: tuple[FakeJobs, str]) -> None:
    servicer, address = fake
    servicer.episodes = FLAKY
    seen: list[int] = []

    async def report(progress: job_pb2.JobRunProgress) -> None:
        seen.append(progress.rows_read)

    async with AsyncClient(address, api_key=KEY, backoff=FAST) as client:
        run = await client.runs.wait("run-1", on_progress=report)
    assert run.status == SUCCEEDED and seen == [10, 20, 30, 100]
    assert servicer.watches == 3


@pytest.mark.parametrize(
    ("code", "error", "watches"),
    [
        (grpc.StatusCode.NOT_FOUND, NotFoundError, 1),
        (grpc.StatusCode.UNAVAILABLE, UnavailableError, FAST.attempts + 1),
    ],
    ids=["stops-at-an-error-not-worth-a-retry", "gives-up-after-the-attempts-in-a-row"],
)
def test_wait_raises(
    fake: tuple[FakeJobs, str],
    code: grpc.StatusCode,
    error: type[VeilsyncError],
    watches: int,
) -> None:
    servicer, address = fake
    servicer.episodes = [((), code)]
    with Client(address, api_key=KEY, backoff=FAST) as client, pytest.raises(error):
        client.runs.wait("run-1")
    assert servicer.watches == watches


def test_progress_resets_the_attempts(fake: tuple[FakeJobs, str]) -> None:
    servicer, address = fake
    # Five breaks, more than FAST allows in a row, but each after a message got through.
    servicer.episodes = [((i,), grpc.StatusCode.UNAVAILABLE) for i in range(5)] + [((), SUCCEEDED)]
    with Client(address, api_key=KEY, backoff=FAST) as client:
        assert client.runs.wait("run-1").status == SUCCEEDED
    assert servicer.watches == 6


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_delays_grow_within_bounds_and_stop_at_the_deadline() -> None:
    clock = Clock()
    reconnects = Reconnects(Backoff(first_s=1, most_s=4, attempts=10), 100, clock)
    unavailable = UnavailableError(grpc.StatusCode.UNAVAILABLE, "down")
    delays = [reconnects.delay_after(unavailable) for _ in range(5)]
    for delay, ceiling in zip(delays, (1, 2, 4, 4, 4), strict=True):
        assert ceiling / 2 <= delay <= ceiling
    clock.now = 99.5
    assert reconnects.delay_after(None) <= 0.5  # never sleeps past the deadline
    clock.now = 100
    with pytest.raises(DeadlineExceededError):
        reconnects.remaining()


def test_no_key_is_refused_before_dialing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VEILSYNC_API_KEY", raising=False)
    with pytest.raises(ValueError, match="VEILSYNC_API_KEY"):
        Client("127.0.0.1:1")


def test_the_key_stays_out_of_reprs() -> None:
    target = Target.of(
        "127.0.0.1:1", KEY, tls=False, ca_file=None, client_cert=None, client_key=None, options=()
    )
    assert target.metadata == (("authorization", f"Bearer {KEY}"),)
    assert KEY not in repr(target)


def test_mutual_tls_with_a_ca_file_and_a_client_certificate(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    server_credentials = grpc.ssl_server_credentials(
        [(pki.server_key.read_bytes(), pki.server_cert.read_bytes())],
        root_certificates=pki.ca.read_bytes(),
        require_client_auth=True,
    )
    with serving(server_credentials) as (servicer, address):
        servicer.episodes = [((), SUCCEEDED)]
        mutual = Client(
            address,
            api_key=KEY,
            ca_file=pki.ca,
            client_cert=pki.client_cert,
            client_key=pki.client_key,
        )
        with mutual as c:
            assert c.runs.wait("run-1").status == SUCCEEDED
        with Client(address, api_key=KEY, ca_file=pki.ca) as c, pytest.raises(UnavailableError):
            c.runs.get("run-1")  # the server wants a client certificate
        with Client(address, api_key=KEY) as c, pytest.raises(UnavailableError):
            c.runs.get("run-1")  # plaintext to a TLS port
