"""Reads a run's workflow history through the codec: which table each activity worked on,
from the activity's (encrypted) input."""

from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecutionDescription
from temporalio.service import RPCError, RPCStatusCode

from services.api.mapping.run_events import pending_steps, table_events
from services.api.mapping.runs import failure_message
from services.common.errors import NotFoundError
from services.contract import ml_worker_temporal, sync_worker_temporal
from veilsync.v1 import job_pb2

# The activities a run schedules, by name: its own, and the ML worker's sample_model for a
# synthesized table sampled on its model's serving queue (services/sync_worker/synthesis.py).
_ACTIVITIES = {**sync_worker_temporal.ACTIVITIES, **ml_worker_temporal.ACTIVITIES}


async def run_events(client: Client, run_id: str) -> list[job_pb2.TableEvent]:
    """The table events of every execution of the run, the ones it continued from first."""
    found: list[job_pb2.TableEvent] = []
    execution: str | None = None
    while True:
        events = await _history(client, run_id, execution)
        await _decode_failures(client, events)
        scheduled = await _tables(client, events)
        by_event = {event_id: value for event_id, (_, value) in scheduled.items()}
        found[:0] = table_events(events, by_event)
        started = events[0].workflow_execution_started_event_attributes if events else None
        execution = started.continued_execution_run_id if started else None
        if not execution:
            return found


async def run_pending_steps(
    client: Client, run_id: str, description: WorkflowExecutionDescription
) -> list[job_pb2.PendingStep]:
    pending = list(description.raw_description.pending_activities)
    if not pending:
        return []
    for info in pending:
        if info.HasField("last_failure"):
            await _decode_failure(client, info.last_failure)
    scheduled = await _tables(client, await _history(client, run_id, description.run_id))
    by_activity = {
        activity_id: ", ".join(tables) for activity_id, (_, tables) in scheduled.values()
    }
    return pending_steps(pending, by_activity)


async def _history(client: Client, run_id: str, execution: str | None) -> list[HistoryEvent]:
    """One execution's events; the latest execution's when `execution` is None."""
    try:
        history = await client.get_workflow_handle(run_id, run_id=execution).fetch_history()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise NotFoundError(f'run "{run_id}" not found') from err
        raise
    return list(history.events)


async def _decode_failures(client: Client, events: list[HistoryEvent]) -> None:
    """Each activity failure's message decrypted in place: with encoded attributes, history
    holds only "Encoded failure" where the reason was."""
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            await _decode_failure(client, event.activity_task_failed_event_attributes.failure)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            if started.HasField("last_failure"):
                await _decode_failure(client, started.last_failure)


async def _decode_failure(client: Client, failure: Failure) -> None:
    """The failure's message replaced by the reason its chain gives, readable and cut to its
    head, as GetJobRun shows a run's; its other fields dropped, as nothing here reads them."""
    decoded = Failure()
    decoded.CopyFrom(failure)
    message = failure_message(await client.data_converter.decode_failure(decoded))
    failure.Clear()
    failure.message = message


async def _tables(
    client: Client, events: list[HistoryEvent]
) -> dict[int, tuple[str, tuple[str, list[str]]]]:
    """Scheduled event id -> (activity id, (activity type, tables)), for the activities that
    write tables: the contract says where their input names them."""
    found: dict[int, tuple[str, tuple[str, list[str]]]] = {}
    for event in events:
        if event.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            continue
        attributes = event.activity_task_scheduled_event_attributes
        activity = _ACTIVITIES.get(attributes.activity_type.name)
        if activity is None or activity.tables is None:
            continue
        [decoded] = await client.data_converter.decode(
            list(attributes.input.payloads), [activity.input]
        )
        found[event.event_id] = (attributes.activity_id, (activity.name, activity.tables(decoded)))
    return found
