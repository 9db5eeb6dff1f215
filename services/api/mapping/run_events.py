"""A run's workflow history as per-table events, and its pending activities as steps. Pure:
the caller decodes which table each activity worked on."""

from collections.abc import Iterable, Mapping, Sequence

from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflow.v1 import PendingActivityInfo

from services.common.logging import scrub
from veilsync.v1 import job_pb2

_STATES = {
    PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED: "scheduled",
    PendingActivityState.PENDING_ACTIVITY_STATE_STARTED: "started",
    PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED: "cancel requested",
    PendingActivityState.PENDING_ACTIVITY_STATE_PAUSED: "paused",
}


def table_events(
    events: Iterable[HistoryEvent], tables: Mapping[int, tuple[str, Sequence[str]]]
) -> list[job_pb2.TableEvent]:
    """`tables` maps a scheduled event's id to (activity, tables) for the activities that
    write tables: an activity writing several tables gives each of them its events."""
    found: list[job_pb2.TableEvent] = []
    for event in events:
        kind, scheduled_id, attempt, message = _classify(event)
        if kind == job_pb2.TABLE_EVENT_KIND_UNSPECIFIED or scheduled_id not in tables:
            continue
        activity, names = tables[scheduled_id]
        retried = kind == job_pb2.TABLE_EVENT_KIND_STARTED and attempt > 1
        for table in names:
            if retried:
                # Temporal writes one started event per activity, with the attempt that
                # finished it: earlier attempts failed and were retried, the last failure
                # attached.
                found.append(
                    _event(
                        event,
                        table,
                        activity,
                        job_pb2.TABLE_EVENT_KIND_RETRIED,
                        attempt - 1,
                        message,
                    )
                )
            found.append(
                _event(event, table, activity, kind, max(attempt, 1), "" if retried else message)
            )
    return found


def _classify(event: HistoryEvent) -> tuple["job_pb2.TableEventKind.ValueType", int, int, str]:
    kind = event.event_type
    if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        return job_pb2.TABLE_EVENT_KIND_SCHEDULED, event.event_id, 0, ""
    if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        started = event.activity_task_started_event_attributes
        last = scrub(started.last_failure.message) if started.HasField("last_failure") else ""
        return job_pb2.TABLE_EVENT_KIND_STARTED, started.scheduled_event_id, started.attempt, last
    if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        completed = event.activity_task_completed_event_attributes
        return job_pb2.TABLE_EVENT_KIND_COMPLETED, completed.scheduled_event_id, 0, ""
    if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
        failed = event.activity_task_failed_event_attributes
        message = scrub(failed.failure.message)
        return job_pb2.TABLE_EVENT_KIND_FAILED, failed.scheduled_event_id, 0, message
    if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        timed_out = event.activity_task_timed_out_event_attributes
        return job_pb2.TABLE_EVENT_KIND_CANCELED, timed_out.scheduled_event_id, 0, "timed out"
    if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
        canceled = event.activity_task_canceled_event_attributes
        return job_pb2.TABLE_EVENT_KIND_CANCELED, canceled.scheduled_event_id, 0, "canceled"
    return job_pb2.TABLE_EVENT_KIND_UNSPECIFIED, 0, 0, ""


def _event(
    event: HistoryEvent,
    table: str,
    activity: str,
    kind: "job_pb2.TableEventKind.ValueType",
    attempt: int,
    message: str,
) -> job_pb2.TableEvent:
    result = job_pb2.TableEvent(
        table=table, activity=activity, kind=kind, attempt=attempt, message=message
    )
    result.time.CopyFrom(event.event_time)
    return result


def pending_steps(
    pending: Iterable[PendingActivityInfo], tables: Mapping[str, str]
) -> list[job_pb2.PendingStep]:
    """`tables` maps an activity id to the table it works on."""
    steps = []
    for info in pending:
        step = job_pb2.PendingStep(
            activity=info.activity_type.name,
            table=tables.get(info.activity_id, ""),
            state=_STATES.get(info.state, "unknown"),
            attempt=info.attempt,
            last_failure=scrub(info.last_failure.message) if info.HasField("last_failure") else "",
        )
        if info.HasField("last_heartbeat_time"):
            step.last_heartbeat_time.CopyFrom(info.last_heartbeat_time)
        steps.append(step)
    return steps
