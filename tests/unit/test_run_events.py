"""A run's history as per-table events, and its pending activities as steps."""

from datetime import UTC, datetime, timedelta

from google.protobuf import timestamp_pb2
from temporalio.api.common.v1 import ActivityType
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import (
    ActivityTaskCanceledEventAttributes,
    ActivityTaskCompletedEventAttributes,
    ActivityTaskFailedEventAttributes,
    ActivityTaskScheduledEventAttributes,
    ActivityTaskStartedEventAttributes,
    ActivityTaskTimedOutEventAttributes,
    HistoryEvent,
    WorkflowExecutionStartedEventAttributes,
)
from temporalio.api.workflow.v1 import PendingActivityInfo

from services.api.mapping.run_events import pending_steps, table_events
from veilsync.v1 import job_pb2

T0 = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
K = job_pb2


def at(seconds: int) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(T0 + timedelta(seconds=seconds))
    return stamp


def scheduled(event_id: int, activity: str = "sync_table") -> HistoryEvent:
    return HistoryEvent(
        event_id=event_id,
        event_time=at(event_id),
        event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        activity_task_scheduled_event_attributes=ActivityTaskScheduledEventAttributes(
            activity_type=ActivityType(name=activity)
        ),
    )


def started(event_id: int, scheduled_id: int, attempt: int = 1, failure: str = "") -> HistoryEvent:
    attributes = ActivityTaskStartedEventAttributes(
        scheduled_event_id=scheduled_id, attempt=attempt
    )
    if failure:
        attributes.last_failure.CopyFrom(Failure(message=failure))
    return HistoryEvent(
        event_id=event_id,
        event_time=at(event_id),
        event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        activity_task_started_event_attributes=attributes,
    )


def completed(event_id: int, scheduled_id: int) -> HistoryEvent:
    return HistoryEvent(
        event_id=event_id,
        event_time=at(event_id),
        event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        activity_task_completed_event_attributes=ActivityTaskCompletedEventAttributes(
            scheduled_event_id=scheduled_id
        ),
    )


def failed(event_id: int, scheduled_id: int, message: str) -> HistoryEvent:
    return HistoryEvent(
        event_id=event_id,
        event_time=at(event_id),
        event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        activity_task_failed_event_attributes=ActivityTaskFailedEventAttributes(
            scheduled_event_id=scheduled_id, failure=Failure(message=message)
        ),
    )


def kinds(events: list[job_pb2.TableEvent]) -> list[tuple[str, int, int, str]]:
    return [(e.table, e.kind, e.attempt, e.message) for e in events]


def test_a_table_that_succeeds_first_time() -> None:
    events = table_events(
        [scheduled(5), started(6, 5), completed(7, 5)], {5: ("sync_table", ["public.users"])}
    )
    assert kinds(events) == [
        ("public.users", K.TABLE_EVENT_KIND_SCHEDULED, 1, ""),
        ("public.users", K.TABLE_EVENT_KIND_STARTED, 1, ""),
        ("public.users", K.TABLE_EVENT_KIND_COMPLETED, 1, ""),
    ]
    assert [e.time for e in events] == [at(5), at(6), at(7)]
    assert {e.activity for e in events} == {"sync_table"}


def test_retries_are_told_from_the_attempt_that_started() -> None:
    events = table_events(
        [
            scheduled(5),
            started(6, 5, attempt=3, failure="connection reset"),
            completed(7, 5),
        ],
        {5: ("sync_table", ["public.orders"])},
    )
    assert kinds(events) == [
        ("public.orders", K.TABLE_EVENT_KIND_SCHEDULED, 1, ""),
        ("public.orders", K.TABLE_EVENT_KIND_RETRIED, 2, "connection reset"),
        ("public.orders", K.TABLE_EVENT_KIND_STARTED, 3, ""),
        ("public.orders", K.TABLE_EVENT_KIND_COMPLETED, 1, ""),
    ]
    assert events[1].time == events[2].time == at(6)


def test_each_table_of_a_grouped_activity_has_its_events() -> None:
    events = table_events(
        [scheduled(5, "sync_tables"), started(6, 5, attempt=2, failure="reset"), completed(7, 5)],
        {5: ("sync_tables", ["public.a", "public.b"])},
    )
    assert kinds(events) == [
        ("public.a", K.TABLE_EVENT_KIND_SCHEDULED, 1, ""),
        ("public.b", K.TABLE_EVENT_KIND_SCHEDULED, 1, ""),
        ("public.a", K.TABLE_EVENT_KIND_RETRIED, 1, "reset"),
        ("public.a", K.TABLE_EVENT_KIND_STARTED, 2, ""),
        ("public.b", K.TABLE_EVENT_KIND_RETRIED, 1, "reset"),
        ("public.b", K.TABLE_EVENT_KIND_STARTED, 2, ""),
        ("public.a", K.TABLE_EVENT_KIND_COMPLETED, 1, ""),
        ("public.b", K.TABLE_EVENT_KIND_COMPLETED, 1, ""),
    ]


def test_failures_keep_their_message_without_url_passwords() -> None:
    events = table_events(
        [
            scheduled(5, "fill_deferred_columns"),
            started(6, 5),
            failed(7, 5, "cannot reach postgresql://app:s3cret@db:5432/shop"),
        ],
        {5: ("fill_deferred_columns", ["public.users"])},
    )
    last = events[-1]
    assert (last.kind, last.activity) == (K.TABLE_EVENT_KIND_FAILED, "fill_deferred_columns")
    assert "s3cret" not in last.message
    assert "postgresql://app:***@db:5432/shop" in last.message


def test_timeouts_and_cancellations_end_a_table() -> None:
    timed_out = HistoryEvent(
        event_id=7,
        event_time=at(7),
        event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        activity_task_timed_out_event_attributes=ActivityTaskTimedOutEventAttributes(
            scheduled_event_id=5
        ),
    )
    canceled = HistoryEvent(
        event_id=9,
        event_time=at(9),
        event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
        activity_task_canceled_event_attributes=ActivityTaskCanceledEventAttributes(
            scheduled_event_id=8
        ),
    )
    events = table_events(
        [timed_out, canceled], {5: ("sync_table", ["public.a"]), 8: ("sync_table", ["public.b"])}
    )
    assert kinds(events) == [
        ("public.a", K.TABLE_EVENT_KIND_CANCELED, 1, "timed out"),
        ("public.b", K.TABLE_EVENT_KIND_CANCELED, 1, "canceled"),
    ]


def test_other_events_and_activities_are_left_out() -> None:
    workflow_started = HistoryEvent(
        event_id=1,
        event_time=at(1),
        event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        workflow_execution_started_event_attributes=WorkflowExecutionStartedEventAttributes(),
    )
    events = table_events(
        [workflow_started, scheduled(5, "plan_sync"), started(6, 5), completed(7, 5)],
        {},  # plan_sync works on no single table
    )
    assert events == []


def test_pending_steps() -> None:
    retrying = PendingActivityInfo(
        activity_id="3",
        activity_type=ActivityType(name="sync_table"),
        state=PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED,
        attempt=2,
        last_failure=Failure(message="mysql://root:pw@db/x refused"),
    )
    running = PendingActivityInfo(
        activity_id="4",
        activity_type=ActivityType(name="sync_table"),
        state=PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
        attempt=1,
        last_heartbeat_time=at(30),
    )
    planning = PendingActivityInfo(activity_id="1", activity_type=ActivityType(name="plan_sync"))
    steps = pending_steps([retrying, running, planning], {"3": "public.a", "4": "public.b"})
    assert [(s.activity, s.table, s.state, s.attempt) for s in steps] == [
        ("sync_table", "public.a", "scheduled", 2),
        ("sync_table", "public.b", "started", 1),
        ("plan_sync", "", "unknown", 0),
    ]
    assert steps[0].last_failure == "mysql://root:***@db/x refused"
    assert not steps[0].HasField("last_heartbeat_time")
    assert steps[1].last_heartbeat_time == at(30)
    assert steps[1].last_failure == ""
