"""Watching a run: poll its progress, pass on only what changed, stop when it ends: polled
every half second, and at once when the run closes."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

from services.api.mapping.progress import progress_from_sync
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2

POLL_SECONDS = 0.5

Poll = Callable[[], Awaitable[tuple[sync_pb2.SyncProgress, "job_pb2.RunStatus.ValueType"]]]


def change_key(progress: job_pb2.JobRunProgress) -> tuple[object, ...]:
    """What counts as a change: states and counts, not the clock-driven rates and ETAs."""
    return (
        progress.status,
        tuple(
            (t.table, t.status, t.rows_read, t.rows_written, t.rows_skipped, t.rows_total)
            for t in progress.tables
        ),
    )


async def watch(
    poll: Poll, closed: Awaitable[object] | None = None, interval: float = POLL_SECONDS
) -> AsyncIterator[job_pb2.JobRunProgress]:
    """`closed` returns when the run closes: the last progress then goes out without waiting
    for the next poll (a short run's end would otherwise reach its watcher up to `interval`
    late)."""
    closing = asyncio.ensure_future(closed) if closed is not None else None
    last: tuple[object, ...] | None = None
    close_seen = False
    try:
        while True:
            raw, status = await poll()
            progress = progress_from_sync(raw, status, datetime.now(UTC))
            ended = status != job_pb2.RUN_STATUS_RUNNING
            key = change_key(progress)
            if key != last or ended:
                last = key
                yield progress
            if ended:
                return
            if closing is None or close_seen:
                await asyncio.sleep(interval)
            else:  # returns at once when the run has closed: one more poll, then the end
                await asyncio.wait({closing}, timeout=interval)
                close_seen = closing.done()
    finally:
        if closing is not None:
            closing.cancel()
