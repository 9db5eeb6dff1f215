"""What counts as a change when watching a run's progress, and when the watch looks again."""

import asyncio

from google.protobuf import duration_pb2

from services.api.progress_watch import change_key, watch
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2


def progress(
    read: int = 10,
    status: "job_pb2.RunStatus.ValueType" = job_pb2.RUN_STATUS_RUNNING,
    rate: float = 5.0,
    eta: int = 30,
) -> job_pb2.JobRunProgress:
    return job_pb2.JobRunProgress(
        status=status,
        tables=[
            job_pb2.TableRunProgress(
                table="public.users",
                status=job_pb2.TABLE_SYNC_STATUS_RUNNING,
                rows_read=read,
                rows_written=read,
                rows_total=100,
                percent=float(read),
                rows_per_second=rate,
                eta=duration_pb2.Duration(seconds=eta),
            )
        ],
        rows_read=read,
        elapsed=duration_pb2.Duration(seconds=eta * 2),
    )


def test_clock_driven_fields_are_no_change() -> None:
    assert change_key(progress(rate=5.0, eta=30)) == change_key(progress(rate=1.5, eta=90))


def test_counts_and_states_are_changes() -> None:
    assert change_key(progress(read=10)) != change_key(progress(read=11))
    assert change_key(progress()) != change_key(progress(status=job_pb2.RUN_STATUS_SUCCEEDED))
    other_table = progress()
    other_table.tables[0].status = job_pb2.TABLE_SYNC_STATUS_SUCCEEDED
    assert change_key(progress()) != change_key(other_table)
    skipped = progress()
    skipped.tables[0].rows_skipped = 1
    assert change_key(progress()) != change_key(skipped)


def test_a_new_table_is_a_change() -> None:
    more = progress()
    more.tables.add(table="public.orders")
    assert change_key(progress()) != change_key(more)


RUNNING, DONE = job_pb2.RUN_STATUS_RUNNING, job_pb2.RUN_STATUS_SUCCEEDED
Polled = tuple[sync_pb2.SyncProgress, "job_pb2.RunStatus.ValueType"]


def raw(read: int) -> sync_pb2.SyncProgress:
    return sync_pb2.SyncProgress(
        tables=[
            sync_pb2.TableProgress(
                table="public.users",
                status=job_pb2.TABLE_SYNC_STATUS_RUNNING,
                rows_read=read,
                rows_total=100,
            )
        ]
    )


class Poller:
    def __init__(self, *answers: Polled) -> None:
        self.answers, self.calls = iter(answers), 0

    async def __call__(self) -> Polled:
        self.calls += 1
        return next(self.answers)


async def test_watch_passes_on_changes_and_always_the_end() -> None:
    poll = Poller((raw(0), RUNNING), (raw(0), RUNNING), (raw(40), RUNNING), (raw(40), DONE))
    seen = [(p.status, p.rows_read) async for p in watch(poll, interval=0)]
    assert seen == [(RUNNING, 0), (RUNNING, 40), (DONE, 40)]
    assert poll.calls == 4  # stopped polling once the run ended


async def test_a_closing_run_is_polled_at_once() -> None:
    # An hour between polls: only the run's close can bring the last poll.
    closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    poll = Poller((raw(0), RUNNING), (raw(100), DONE))
    seen = []
    async with asyncio.timeout(30):
        async for progress in watch(poll, closed, interval=3600):
            seen.append(progress.status)
            if not closed.done():
                closed.set_result(None)
    assert seen == [RUNNING, DONE]
