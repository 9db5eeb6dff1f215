"""What counts as a change when watching a run's progress."""

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


async def test_watch_passes_on_changes_and_always_the_end() -> None:
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

    running, done = job_pb2.RUN_STATUS_RUNNING, job_pb2.RUN_STATUS_SUCCEEDED
    polls = iter([(raw(0), running), (raw(0), running), (raw(40), running), (raw(40), done)])
    calls = 0

    async def poll() -> tuple[sync_pb2.SyncProgress, "job_pb2.RunStatus.ValueType"]:
        nonlocal calls
        calls += 1
        return next(polls)

    seen = [(p.status, p.rows_read) async for p in watch(poll, interval=0)]
    assert seen == [(running, 0), (running, 40), (done, 40)]
    assert calls == 4  # stopped polling once the run ended
