"""A job's cron schedule as a Temporal Schedule, kept in step with the job. The schedule id
is derived from the job id, so nothing needs storing; Temporal errors become domain errors."""

from dataclasses import dataclass
from datetime import datetime

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
)
from temporalio.service import RPCError, RPCStatusCode

from services.api import run_search
from services.api.runs import run_timeout, workflow_input, workflow_type
from services.common.errors import InvalidArgumentError
from veilsync.v1 import job_pb2


@dataclass(frozen=True)
class RecentRun:
    schedule_time: datetime
    start_time: datetime
    run_id: str


@dataclass(frozen=True)
class ScheduleInfo:
    paused: bool
    next_run_times: list[datetime]
    recent_runs: list[RecentRun]


def schedule_id(job_id: str) -> str:
    return f"job-{job_id}"


def overlap(job: job_pb2.Job) -> ScheduleOverlapPolicy:
    # SKIP: a run still copying when the next one is due must not race it on the destination.
    return ScheduleOverlapPolicy.ALLOW_ALL if job.allow_overlap else ScheduleOverlapPolicy.SKIP


class ScheduleControl:
    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def sync(self, account_id: str, job: job_pb2.Job) -> None:
        """Create, update or delete the job's schedule to match its `schedule` and `paused`."""
        if not job.schedule:
            await self.delete(job.id)
            return
        wanted = self._schedule(account_id, job)
        handle = self._client.get_schedule_handle(schedule_id(job.id))
        try:
            await handle.update(lambda _: ScheduleUpdate(schedule=wanted))
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise _translated(err) from err
            try:
                await self._client.create_schedule(schedule_id(job.id), wanted)
            except RPCError as create_err:
                raise _translated(create_err) from create_err

    async def delete(self, job_id: str) -> None:
        try:
            await self._client.get_schedule_handle(schedule_id(job_id)).delete()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise

    async def describe(self, job: job_pb2.Job) -> ScheduleInfo:
        if not job.schedule:
            return ScheduleInfo(job.paused, [], [])
        handle: ScheduleHandle = self._client.get_schedule_handle(schedule_id(job.id))
        try:
            description = await handle.describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return ScheduleInfo(job.paused, [], [])
            raise
        recent = [
            RecentRun(
                action.scheduled_at,
                action.started_at,
                getattr(action.action, "workflow_id", ""),
            )
            for action in description.info.recent_actions
        ]
        return ScheduleInfo(
            description.schedule.state.paused, list(description.info.next_action_times), recent
        )

    def _schedule(self, account_id: str, job: job_pb2.Job) -> Schedule:
        return Schedule(
            action=ScheduleActionStartWorkflow(
                workflow_type(job),
                workflow_input(account_id, job),
                id=run_search.scheduled_run_id(job.id),
                task_queue=self._task_queue,
                execution_timeout=run_timeout(job),
                typed_search_attributes=run_search.run_attributes(account_id, job.id),
            ),
            spec=ScheduleSpec(cron_expressions=[job.schedule]),
            policy=SchedulePolicy(overlap=overlap(job)),
            state=ScheduleState(paused=job.paused),
        )


def _translated(err: RPCError) -> Exception:
    if err.status == RPCStatusCode.INVALID_ARGUMENT:
        return InvalidArgumentError("job.schedule", err.message)
    return err
