"""Pure API mapping and edge validation, without a server."""

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2, status_pb2
from temporalio.client import WorkflowExecutionStatus
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

from services.api import validation
from services.api.errors import error_status, status_code
from services.api.mapping.connections import check_to_proto, connection_to_proto
from services.api.mapping.progress import progress_from_sync
from services.api.mapping.runs import RunState, failure_message, run_status, run_to_proto
from services.api.mapping.transformers import preview_to_proto
from services.common.errors import (
    AlreadyExistsError,
    DatabaseUnavailableError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
)
from services.common.store.records import ConnectionRecord
from services.engine.inspect.reachability import ConnectionCheck
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import connection_pb2, job_pb2, model_pb2, transformer_pb2

T0 = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


def ts(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def table(
    name: str,
    status: "job_pb2.TableSyncStatus.ValueType",
    read: int,
    total: int,
    *,
    started: datetime | None = None,
    ended: datetime | None = None,
) -> sync_pb2.TableProgress:
    progress = sync_pb2.TableProgress(
        table=name, status=status, rows_read=read, rows_written=2 * read, rows_total=total
    )
    if started is not None:
        progress.start_time.CopyFrom(ts(started))
    if ended is not None:
        progress.end_time.CopyFrom(ts(ended))
    return progress


def test_progress_of_a_running_sync() -> None:
    sync = sync_pb2.SyncProgress(
        start_time=ts(T0),
        tables=[
            table(
                "public.customers",
                job_pb2.TABLE_SYNC_STATUS_SUCCEEDED,
                100,
                100,
                started=T0,
                ended=T0 + timedelta(seconds=10),
            ),
            table(
                "public.orders",
                job_pb2.TABLE_SYNC_STATUS_RUNNING,
                300,
                1000,
                started=T0 + timedelta(seconds=10),
            ),
            table("public.items", job_pb2.TABLE_SYNC_STATUS_PENDING, 0, 500),
        ],
    )
    now = T0 + timedelta(seconds=40)

    result = progress_from_sync(sync, job_pb2.RUN_STATUS_RUNNING, now)

    customers, orders, items = result.tables
    assert customers.percent == 100.0
    assert customers.rows_per_second == pytest.approx(10.0)
    assert not customers.HasField("eta")
    assert orders.percent == pytest.approx(30.0)
    assert orders.rows_per_second == pytest.approx(10.0)
    assert orders.eta.ToTimedelta() == timedelta(seconds=70)
    assert (items.percent, items.rows_per_second, items.HasField("eta")) == (0.0, 0.0, False)
    assert result.status == job_pb2.RUN_STATUS_RUNNING
    assert (result.rows_read, result.rows_written, result.rows_total) == (400, 800, 1600)
    assert result.percent == pytest.approx(25.0)
    assert result.elapsed.ToTimedelta() == timedelta(seconds=40)
    assert result.rows_per_second == pytest.approx(10.0)  # 400 rows in 40 s
    assert result.eta.ToTimedelta() == timedelta(seconds=120)  # 1200 rows left


def test_a_canceled_runs_unfinished_tables_are_canceled() -> None:
    sync = sync_pb2.SyncProgress(
        start_time=ts(T0),
        tables=[
            table("public.a", job_pb2.TABLE_SYNC_STATUS_SUCCEEDED, 10, 10, started=T0, ended=T0),
            table("public.b", job_pb2.TABLE_SYNC_STATUS_RUNNING, 5, 10, started=T0),
            table("public.c", job_pb2.TABLE_SYNC_STATUS_PENDING, 0, 10),
        ],
    )
    result = progress_from_sync(sync, job_pb2.RUN_STATUS_CANCELED, T0 + timedelta(seconds=5))
    assert [t.status for t in result.tables] == [
        job_pb2.TABLE_SYNC_STATUS_SUCCEEDED,
        job_pb2.TABLE_SYNC_STATUS_CANCELED,
        job_pb2.TABLE_SYNC_STATUS_CANCELED,
    ]
    assert not any(t.HasField("eta") for t in result.tables) and not result.HasField("eta")
    assert result.rows_per_second == pytest.approx(3.0)


def test_a_failed_runs_unfinished_tables_end_with_the_run() -> None:
    """Their rates stop where the run closed, and nothing is left to wait for."""
    sync = sync_pb2.SyncProgress(
        start_time=ts(T0),
        end_time=ts(T0 + timedelta(seconds=10)),  # its close, as RunControl fills it in
        tables=[table("public.b", job_pb2.TABLE_SYNC_STATUS_RUNNING, 50, 100, started=T0)],
    )
    result = progress_from_sync(sync, job_pb2.RUN_STATUS_FAILED, T0 + timedelta(hours=1))
    assert result.tables[0].rows_per_second == pytest.approx(5.0)
    assert not result.tables[0].HasField("eta")


def test_progress_of_a_finished_sync_uses_its_end_time() -> None:
    sync = sync_pb2.SyncProgress(
        start_time=ts(T0),
        end_time=ts(T0 + timedelta(seconds=5)),
        # The estimate was low: the percentage still stops at 100.
        tables=[
            table(
                "public.t",
                job_pb2.TABLE_SYNC_STATUS_SUCCEEDED,
                120,
                100,
                started=T0,
                ended=T0 + timedelta(seconds=4),
            )
        ],
    )
    result = progress_from_sync(sync, job_pb2.RUN_STATUS_SUCCEEDED, T0 + timedelta(hours=1))
    assert result.elapsed.ToTimedelta() == timedelta(seconds=5)
    assert result.percent == 100.0
    assert result.tables[0].rows_per_second == pytest.approx(30.0)


def test_progress_of_a_synthesized_table_carries_its_model_evaluation() -> None:
    evaluation = model_pb2.ModelEvaluation(
        holdout_rows=30, quality_score=0.8, dcr_share=0.97, memorizes=True, dcr_rows=1000
    )
    synthesized = table("public.t", job_pb2.TABLE_SYNC_STATUS_SUCCEEDED, 40, 40)
    synthesized.model_evaluation.CopyFrom(evaluation)
    copied = table("public.u", job_pb2.TABLE_SYNC_STATUS_SUCCEEDED, 40, 40)
    sync = sync_pb2.SyncProgress(tables=[synthesized, copied])
    result = progress_from_sync(sync, job_pb2.RUN_STATUS_SUCCEEDED, T0)
    assert result.tables[0].model_evaluation == evaluation
    assert not result.tables[1].HasField("model_evaluation")


def test_progress_of_nothing_yet() -> None:
    result = progress_from_sync(sync_pb2.SyncProgress(), job_pb2.RUN_STATUS_RUNNING, T0)
    assert result == job_pb2.JobRunProgress(status=job_pb2.RUN_STATUS_RUNNING)


def test_run_statuses() -> None:
    assert run_status(WorkflowExecutionStatus.RUNNING) == job_pb2.RUN_STATUS_RUNNING
    assert run_status(WorkflowExecutionStatus.COMPLETED) == job_pb2.RUN_STATUS_SUCCEEDED
    assert run_status(WorkflowExecutionStatus.FAILED) == job_pb2.RUN_STATUS_FAILED
    assert run_status(WorkflowExecutionStatus.TIMED_OUT) == job_pb2.RUN_STATUS_TIMED_OUT
    assert run_status(None) == job_pb2.RUN_STATUS_UNSPECIFIED


def test_failure_message_is_the_innermost_application_error() -> None:
    reason = ApplicationError(
        "table public.x: value too long for postgresql://u:pw@h/db", type="DataRejected"
    )
    wrapper = ActivityError(
        "activity error",
        scheduled_event_id=1,
        started_event_id=2,
        identity="w",
        activity_type="sync_table",
        activity_id="1",
        retry_state=RetryState.NON_RETRYABLE_FAILURE,
    )
    wrapper.__cause__ = reason
    top = RuntimeError("workflow failed")
    top.__cause__ = wrapper
    assert failure_message(top) == "table public.x: value too long for postgresql://u:***@h/db"
    assert failure_message(RuntimeError("plain")) == "plain"


def test_run_to_proto() -> None:
    state = RunState(
        job_pb2.RUN_STATUS_FAILED, T0, T0 + timedelta(minutes=1), failure_message="boom"
    )
    run = run_to_proto("run-1", "job-1", "shop", state, scheduled=True)
    assert run.id == "run-1" and run.job_id == "job-1" and run.job_name == "shop"
    assert run.status == job_pb2.RUN_STATUS_FAILED and run.failure_message == "boom"
    assert run.scheduled
    assert run.start_time.ToDatetime(tzinfo=UTC) == T0
    assert run.close_time.ToDatetime(tzinfo=UTC) == T0 + timedelta(minutes=1)
    running = run_to_proto("run-1", "job-1", "shop", RunState(job_pb2.RUN_STATUS_RUNNING, T0, None))
    assert not running.HasField("close_time")
    assert running.start_time.ToDatetime(tzinfo=UTC) == T0


def test_connection_mappings() -> None:
    record = ConnectionRecord(
        "c1", "prod", connection_pb2.ENGINE_POSTGRES, "postgresql://a:***@h/d", T0
    )
    message = connection_to_proto(record)
    assert message.engine == connection_pb2.ENGINE_POSTGRES
    assert message.create_time.ToDatetime(tzinfo=UTC) == T0
    check = check_to_proto(ConnectionCheck(False, "cannot reach postgresql://a:pw@h/d", ""))
    assert check.message == "cannot reach postgresql://a:***@h/d"


def test_preview_outputs_keep_nulls() -> None:
    response = preview_to_proto(["x", None])
    assert list(response.outputs) == [
        transformer_pb2.PreviewValue(value="x"),
        transformer_pb2.PreviewValue(null=True),
    ]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidArgumentError("name", "bad"), grpc.StatusCode.INVALID_ARGUMENT),
        (NotFoundError("x"), grpc.StatusCode.NOT_FOUND),
        (AlreadyExistsError("x"), grpc.StatusCode.ALREADY_EXISTS),
        (FailedPreconditionError("x"), grpc.StatusCode.FAILED_PRECONDITION),
        (DatabaseUnavailableError("x"), grpc.StatusCode.UNAVAILABLE),
    ],
)
def test_status_codes(error: Exception, code: grpc.StatusCode) -> None:
    assert status_code(error) == code  # type: ignore[arg-type]


def test_invalid_argument_carries_a_field_violation() -> None:
    code, message, metadata = error_status(InvalidArgumentError("url", "bad postgresql://u:pw@h/d"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message == "url: bad postgresql://u:***@h/d"
    (key, value), *_ = metadata
    assert key == "grpc-status-details-bin"
    status = status_pb2.Status.FromString(value)
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    assert bad_request.field_violations[0].field == "url"


def valid_job() -> job_pb2.Job:
    return job_pb2.Job(
        name="shop",
        source=job_pb2.JobSource(connection="prod"),
        destinations=[job_pb2.JobDestination(connection="qa")],
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda j: j.ClearField("name"), "job.name"),
        (lambda j: setattr(j, "name", "Shop!"), "job.name"),
        (lambda j: j.source.ClearField("connection"), "job.source.connection"),
        (lambda j: j.ClearField("destinations"), "job.destinations"),
        (lambda j: setattr(j.destinations[0], "connection", "prod"), "job.destinations[0]"),
        (lambda j: j.destinations.add(connection="qa"), "job.destinations[1]"),
        (lambda j: setattr(j, "max_parallel_tables", -1), "job.max_parallel_tables"),
        (lambda j: setattr(j, "split_table_rows", -1), "job.split_table_rows"),
        (lambda j: j.mappings.add(), "job.mappings[0].table"),
        (
            lambda j: (
                j.mappings.add(table="t").columns["c"].CopyFrom(transformer_pb2.TransformerConfig())
            ),
            "job.mappings[0].columns[c]",
        ),
    ],
)
def test_job_shape_errors_name_the_field(change: object, field: str) -> None:
    job = valid_job()
    change(job)  # type: ignore[operator]
    with pytest.raises(InvalidArgumentError) as caught:
        validation.check_job(job)
    assert caught.value.field.startswith(field)


def test_valid_job_and_keys() -> None:
    validation.check_job(valid_job())
    assert validation.transform_key("") == ""  # the job gets a generated key
    assert validation.transform_key("correct horse battery staple") == (
        "correct horse battery staple"
    )
    for weak in ("short", "x" * 16):
        with pytest.raises(InvalidArgumentError, match="transform_key"):
            validation.transform_key(weak)


@pytest.mark.parametrize("url", ["", "ftp://h/x", "postgresql:///nohost", "sqlite:///"])
def test_bad_urls(url: str) -> None:
    with pytest.raises(InvalidArgumentError, match="url"):
        validation.check_create_connection(
            connection_pb2.CreateConnectionRequest(name="x", url=url), False
        )
