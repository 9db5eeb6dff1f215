"""When and how soon a run's progress watch reconnects: the decisions, without the I/O, shared
by the sync and asyncio waits."""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from veilsync.v1 import job_pb2
from veilsync_sdk.errors import DeadlineExceededError, UnavailableError, VeilsyncError

# The API restarting, a proxy cutting a long call, a network blip: the run goes on meanwhile.
RECONNECT_CODES = frozenset({grpc.StatusCode.UNAVAILABLE})


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: from first_s, doubling up to most_s, each with jitter (so many
    clients of one restarted API do not reconnect in step); after `attempts` failures in a row
    with no progress received in between, the wait gives up with the last error."""

    first_s: float = 0.2
    most_s: float = 5.0
    attempts: int = 20


def is_final(progress: job_pb2.JobRunProgress) -> bool:
    return progress.status not in (job_pb2.RUN_STATUS_UNSPECIFIED, job_pb2.RUN_STATUS_RUNNING)


class Reconnects:
    """The retry state of one wait."""

    def __init__(
        self,
        backoff: Backoff,
        timeout_s: float | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._backoff = backoff
        self._clock = clock
        self._deadline = None if timeout_s is None else clock() + timeout_s
        self._failures = 0

    def remaining(self) -> float | None:
        """Seconds left to wait, None for no limit; raises once the time is up."""
        if self._deadline is None:
            return None
        left = self._deadline - self._clock()
        if left <= 0:
            raise DeadlineExceededError(
                grpc.StatusCode.DEADLINE_EXCEEDED, "the run did not end in the time given"
            )
        return left

    def progressed(self) -> None:
        """A message came through: the connection works again."""
        self._failures = 0

    def delay_after(self, error: VeilsyncError | None) -> float:
        """Seconds to sleep before reconnecting after `error` (None: the stream ended before the
        run did); raises the error instead when it is not worth a retry or retries ran out."""
        if error is not None and error.code not in RECONNECT_CODES:
            raise error
        self._failures += 1
        if self._failures > self._backoff.attempts:
            raise error or UnavailableError(
                grpc.StatusCode.UNAVAILABLE, "the progress stream kept ending before the run did"
            )
        ceiling = min(self._backoff.most_s, self._backoff.first_s * 2.0 ** (self._failures - 1))
        delay = ceiling * random.uniform(0.5, 1.0)
        left = self.remaining()
        return delay if left is None else min(delay, left)
