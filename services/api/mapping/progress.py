"""A run's progress as the workflow reports it, turned into what a user watches: shares,
rates and estimates."""

from datetime import UTC, datetime, timedelta

from google.protobuf import timestamp_pb2

from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2

_UNFINISHED = (job_pb2.TABLE_SYNC_STATUS_PENDING, job_pb2.TABLE_SYNC_STATUS_RUNNING)


def progress_from_sync(
    progress: sync_pb2.SyncProgress, status: job_pb2.RunStatus.ValueType, now: datetime
) -> job_pb2.JobRunProgress:
    """`now` stands in for the end of anything still running, so the mapping stays pure."""
    # What an ended run left unfinished ended with it: no later than the run's end.
    table_end = _time(progress.end_time) if progress.HasField("end_time") else now
    tables = [_table(table, table_end) for table in progress.tables]
    if status != job_pb2.RUN_STATUS_RUNNING:
        for table in tables:
            table.ClearField("eta")
            # The workflow stops reporting once canceled: what it left unfinished was canceled.
            if status == job_pb2.RUN_STATUS_CANCELED and table.status in _UNFINISHED:
                table.status = job_pb2.TABLE_SYNC_STATUS_CANCELED
    result = job_pb2.JobRunProgress(
        status=status,
        tables=tables,
        rows_read=sum(t.rows_read for t in tables),
        rows_written=sum(t.rows_written for t in tables),
        rows_total=sum(t.rows_total for t in tables),
    )
    result.percent = _percent(
        result.rows_read, result.rows_total, done=status == job_pb2.RUN_STATUS_SUCCEEDED
    )
    if progress.HasField("start_time"):
        elapsed = _end(progress.end_time if progress.HasField("end_time") else None, now)
        result.elapsed.FromTimedelta(max(elapsed - _time(progress.start_time), timedelta(0)))
    _rate(result, running=status == job_pb2.RUN_STATUS_RUNNING)
    return result


def _rate(result: job_pb2.JobRunProgress, *, running: bool) -> None:
    """The run's rows per second over its elapsed time and, while it runs, the time left."""
    seconds = result.elapsed.ToTimedelta().total_seconds()
    if seconds <= 0:
        return
    result.rows_per_second = result.rows_read / seconds
    remaining = result.rows_total - result.rows_read
    if running and result.rows_per_second > 0 and remaining > 0:
        result.eta.FromTimedelta(timedelta(seconds=remaining / result.rows_per_second))


def _table(table: sync_pb2.TableProgress, now: datetime) -> job_pb2.TableRunProgress:
    done = table.status == job_pb2.TABLE_SYNC_STATUS_SUCCEEDED
    result = job_pb2.TableRunProgress(
        table=table.table,
        status=table.status,
        rows_read=table.rows_read,
        rows_written=table.rows_written,
        rows_skipped=table.rows_skipped,
        rows_total=table.rows_total,
        percent=_percent(table.rows_read, table.rows_total, done=done),
    )
    if table.HasField("model_evaluation"):
        result.model_evaluation.CopyFrom(table.model_evaluation)
    if not table.HasField("start_time"):
        return result
    end = _end(table.end_time if table.HasField("end_time") else None, now)
    seconds = (end - _time(table.start_time)).total_seconds()
    if seconds > 0:
        result.rows_per_second = table.rows_read / seconds
    remaining = table.rows_total - table.rows_read
    if (
        table.status == job_pb2.TABLE_SYNC_STATUS_RUNNING
        and result.rows_per_second > 0
        and remaining > 0
    ):
        result.eta.FromTimedelta(timedelta(seconds=remaining / result.rows_per_second))
    return result


def _percent(done_rows: int, total_rows: int, *, done: bool) -> float:
    if done:
        return 100.0
    if total_rows <= 0:
        return 0.0
    # Totals are estimates from catalog statistics, so the count read can pass them.
    return min(100.0, 100.0 * done_rows / total_rows)


def _end(end_time: timestamp_pb2.Timestamp | None, now: datetime) -> datetime:
    return _time(end_time) if end_time is not None else now


def _time(value: timestamp_pb2.Timestamp) -> datetime:
    return value.ToDatetime(tzinfo=UTC)
