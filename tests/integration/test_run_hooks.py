"""Run hooks against a real HTTP receiver on 127.0.0.1: what is sent, how it is signed, which
hooks an outcome calls, and that a refused delivery raises so Temporal retries it."""

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from services.common.errors import NotFoundError
from services.sync_worker.hooks import RunHookActivities
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2

ACCOUNT = "acct-1"
JOB_ID = "job-1"
SECRET = b"whsec-test-0123456789"
SUCCEEDED = job_pb2.RUN_HOOK_EVENT_SUCCEEDED
FAILED = job_pb2.RUN_HOOK_EVENT_FAILED


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Records every POST; answers 204 unless a path is told to answer otherwise."""

    base_url: str
    requests: list[Received] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path

    def paths(self) -> list[str]:
        return sorted(r.path for r in self.requests)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(base_url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                state.requests.append(Received(self.path, dict(self.headers.items()), body))
            self.send_response(state.answers.get(self.path, 204))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep the test output quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # port 0: a free one
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Directory:
    """The jobs and hook secrets the activity reads, in memory."""

    def __init__(self, *jobs: job_pb2.Job) -> None:
        self.jobs = {job.id: job for job in jobs}
        self.secret_reads = 0

    def get_job(
        self, account_id: str, *, job_id: str | None = None, name: str | None = None
    ) -> job_pb2.Job:
        if account_id != ACCOUNT or job_id not in self.jobs:
            raise NotFoundError(f"job {job_id or name!r} not found")
        return self.jobs[job_id]

    def hook_secret(self, account_id: str, job_id: str) -> bytes:
        self.secret_reads += 1
        return SECRET


def job_with(*hooks: job_pb2.RunHook) -> job_pb2.Job:
    return job_pb2.Job(id=JOB_ID, name="nightly", hooks=hooks)


def ended(
    status: "job_pb2.RunStatus.ValueType", failure: str = ""
) -> sync_pb2.DeliverRunHooksInput:
    return sync_pb2.DeliverRunHooksInput(
        job_id=JOB_ID,
        account_id=ACCOUNT,
        run_id="run-42",
        status=status,
        failure_message=failure,
        rows_read=1000,
        rows_written=2000,
    )


def deliver(
    directory: Directory, request: sync_pb2.DeliverRunHooksInput
) -> sync_pb2.DeliverRunHooksResult:
    result = ActivityEnvironment().run(RunHookActivities(directory).deliver_run_hooks, request)
    assert isinstance(result, sync_pb2.DeliverRunHooksResult)
    return result


def test_a_succeeded_run_is_posted_signed(receiver: Receiver) -> None:
    directory = Directory(job_with(job_pb2.RunHook(url=receiver.url("/done"))))
    before = int(time.time())
    result = deliver(directory, ended(job_pb2.RUN_STATUS_SUCCEEDED))
    assert result.delivered == 1
    [call] = receiver.requests
    assert call.path == "/done"
    assert json.loads(call.body) == {
        "run_id": "run-42",
        "job_id": JOB_ID,
        "job_name": "nightly",
        "status": "RUN_STATUS_SUCCEEDED",
        "failure_message": "",
        "rows_read": 1000,
        "rows_written": 2000,
    }
    assert call.headers["Content-Type"] == "application/json"
    assert call.headers["X-Veilsync-Delivery"] == "run-42"
    timestamp = call.headers["X-Veilsync-Timestamp"]
    assert before <= int(timestamp) <= int(time.time())
    # What a receiver does: recompute over "<timestamp>.<body>" and compare in constant time.
    expected = hmac.new(SECRET, f"{timestamp}.".encode() + call.body, hashlib.sha256)
    assert hmac.compare_digest(
        call.headers["X-Veilsync-Signature"], "sha256=" + expected.hexdigest()
    )
    wrong = hmac.new(b"another secret", f"{timestamp}.".encode() + call.body, hashlib.sha256)
    assert call.headers["X-Veilsync-Signature"] != "sha256=" + wrong.hexdigest()


def test_hooks_are_called_only_on_their_outcomes(receiver: Receiver) -> None:
    directory = Directory(
        job_with(
            job_pb2.RunHook(url=receiver.url("/ok"), events=[SUCCEEDED]),
            job_pb2.RunHook(url=receiver.url("/bad"), events=[FAILED]),
            job_pb2.RunHook(url=receiver.url("/all")),
            job_pb2.RunHook(url=receiver.url("/both"), events=[SUCCEEDED, FAILED]),
        )
    )
    assert deliver(directory, ended(job_pb2.RUN_STATUS_SUCCEEDED)).delivered == 3
    assert receiver.paths() == ["/all", "/both", "/ok"]

    receiver.requests.clear()
    result = deliver(directory, ended(job_pb2.RUN_STATUS_FAILED, "table public.users failed"))
    assert result.delivered == 3
    assert receiver.paths() == ["/all", "/bad", "/both"]
    body = json.loads(receiver.requests[0].body)
    assert body["status"] == "RUN_STATUS_FAILED"
    assert body["failure_message"] == "table public.users failed"


@pytest.mark.parametrize(
    "status",
    [job_pb2.RUN_STATUS_CANCELED, job_pb2.RUN_STATUS_TERMINATED, job_pb2.RUN_STATUS_TIMED_OUT],
)
def test_every_other_ending_counts_as_failed(
    receiver: Receiver, status: "job_pb2.RunStatus.ValueType"
) -> None:
    directory = Directory(
        job_with(
            job_pb2.RunHook(url=receiver.url("/ok"), events=[SUCCEEDED]),
            job_pb2.RunHook(url=receiver.url("/bad"), events=[FAILED]),
        )
    )
    assert deliver(directory, ended(status)).delivered == 1
    assert receiver.paths() == ["/bad"]


def test_no_wanted_hook_sends_nothing(receiver: Receiver) -> None:
    directory = Directory(job_with(job_pb2.RunHook(url=receiver.url("/bad"), events=[FAILED])))
    assert deliver(directory, ended(job_pb2.RUN_STATUS_SUCCEEDED)).delivered == 0
    assert receiver.requests == []
    assert directory.secret_reads == 0


def test_a_refused_delivery_raises_so_temporal_retries(receiver: Receiver) -> None:
    receiver.answers["/broken"] = 500
    directory = Directory(
        job_with(
            job_pb2.RunHook(url=receiver.url("/broken")),
            job_pb2.RunHook(url=receiver.url("/fine")),
        )
    )
    with pytest.raises(ApplicationError) as caught:
        deliver(directory, ended(job_pb2.RUN_STATUS_SUCCEEDED))
    assert caught.value.type == "HookDeliveryFailed"
    assert not caught.value.non_retryable
    assert receiver.url("/broken") in caught.value.message
    assert "500" in caught.value.message
    assert receiver.url("/fine") not in caught.value.message
    # Every hook was still tried, under one delivery id a receiver can dedupe on.
    assert receiver.paths() == ["/broken", "/fine"]
    assert {r.headers["X-Veilsync-Delivery"] for r in receiver.requests} == {"run-42"}


def test_an_unreachable_receiver_raises_so_temporal_retries() -> None:
    directory = Directory(job_with(job_pb2.RunHook(url="http://127.0.0.1:1/never")))
    with pytest.raises(ApplicationError) as caught:
        deliver(directory, ended(job_pb2.RUN_STATUS_FAILED))
    assert caught.value.type == "HookDeliveryFailed"
    assert not caught.value.non_retryable


def test_a_deleted_job_fails_without_retries() -> None:
    with pytest.raises(ApplicationError) as caught:
        deliver(Directory(), ended(job_pb2.RUN_STATUS_SUCCEEDED))
    assert caught.value.type == "NotFoundError"
    assert caught.value.non_retryable
