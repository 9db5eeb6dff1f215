"""JobService: jobs in the metadata store, their runs and schedules in Temporal."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import grpc

from services.api import run_search, validation
from services.api.accounts import account_of
from services.api.jobs import JobControl
from services.api.mapping.jobs import schedule_to_proto, validation_to_proto
from services.api.mapping.progress import progress_from_sync
from services.api.mapping.runs import RunState, run_to_proto
from services.api.progress_watch import watch
from services.api.run_history import run_events, run_pending_steps
from services.api.runs import RunControl
from services.api.schedules import ScheduleControl
from services.common.store import paging
from services.common.store.store import MetadataStore
from veilsync.v1 import job_pb2 as pb
from veilsync.v1 import job_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]


class JobServicer(job_pb2_grpc.JobServiceServicer):
    def __init__(
        self,
        jobs: JobControl,
        runs: RunControl,
        schedules: ScheduleControl,
        store: MetadataStore,
    ) -> None:
        self._jobs = jobs
        self._runs = runs
        self._schedules = schedules
        self._store = store

    async def CreateJob(
        self, request: pb.CreateJobRequest, context: Context
    ) -> pb.CreateJobResponse:
        hook_secret = validation.hook_secret(request.hook_secret)
        job = await self._jobs.create(
            account_of(context), request.job, request.transform_key, hook_secret
        )
        return pb.CreateJobResponse(job=job)

    async def GetJob(self, request: pb.GetJobRequest, context: Context) -> pb.GetJobResponse:
        read = self._jobs.effective if request.effective else self._jobs.get
        return pb.GetJobResponse(job=await read(account_of(context), request.job))

    async def ListJobs(self, request: pb.ListJobsRequest, context: Context) -> pb.ListJobsResponse:
        page = await asyncio.to_thread(
            self._store.list_jobs, account_of(context), request.page_size, request.page_token
        )
        return pb.ListJobsResponse(jobs=page.items, next_page_token=page.next_page_token)

    async def UpdateJob(
        self, request: pb.UpdateJobRequest, context: Context
    ) -> pb.UpdateJobResponse:
        paths = validation.update_paths(request.update_mask)
        hook_secret = validation.hook_secret(request.hook_secret)
        job = await self._jobs.update(
            account_of(context), request.job, request.update, paths, hook_secret
        )
        return pb.UpdateJobResponse(job=job)

    async def DeleteJob(
        self, request: pb.DeleteJobRequest, context: Context
    ) -> pb.DeleteJobResponse:
        await self._jobs.delete(account_of(context), request.job)
        return pb.DeleteJobResponse()

    async def PauseJob(self, request: pb.PauseJobRequest, context: Context) -> pb.PauseJobResponse:
        job = await self._jobs.set_paused(account_of(context), request.job, True)
        return pb.PauseJobResponse(job=job)

    async def ResumeJob(
        self, request: pb.ResumeJobRequest, context: Context
    ) -> pb.ResumeJobResponse:
        job = await self._jobs.set_paused(account_of(context), request.job, False)
        return pb.ResumeJobResponse(job=job)

    async def ValidateJob(
        self, request: pb.ValidateJobRequest, context: Context
    ) -> pb.ValidateJobResponse:
        target = request.WhichOneof("target")
        violations = await self._jobs.validate(
            account_of(context),
            request.job if target == "job" else None,
            request.spec if target == "spec" else None,
        )
        return validation_to_proto(violations)

    async def GetJobSchedule(
        self, request: pb.GetJobScheduleRequest, context: Context
    ) -> pb.GetJobScheduleResponse:
        job = await self._jobs.get(account_of(context), request.job)
        return schedule_to_proto(job, await self._schedules.describe(job))

    async def TriggerJobRun(
        self, request: pb.TriggerJobRunRequest, context: Context
    ) -> pb.TriggerJobRunResponse:
        account_id = account_of(context)
        job = await self._jobs.get(account_id, request.job)
        run_id = await self._runs.start(account_id, job)
        state = RunState(pb.RUN_STATUS_RUNNING, datetime.now(UTC), None)
        return pb.TriggerJobRunResponse(run=run_to_proto(run_id, job.id, job.name, state))

    async def ListJobRuns(
        self, request: pb.ListJobRunsRequest, context: Context
    ) -> pb.ListJobRunsResponse:
        account_id = account_of(context)
        size = paging.page_size(request.page_size)
        validation.check_enum(request.status, pb.RunStatus.values(), "status")
        start_from = start_to = None
        if request.HasField("start_time_from"):
            start_from = validation.check_timestamp(request.start_time_from, "start_time_from")
        if request.HasField("start_time_to"):
            start_to = validation.check_timestamp(request.start_time_to, "start_time_to")
        job = await self._jobs.get(account_id, request.job)
        query = run_search.runs_query(account_id, job.id, request.status, start_from, start_to)
        page = await self._runs.list(query, size, request.page_token)
        return pb.ListJobRunsResponse(
            runs=[
                run_to_proto(
                    run.id, job.id, job.name, run.state, scheduled=run_search.is_scheduled(run.id)
                )
                for run in page.runs
            ],
            next_page_token=page.next_page_token,
        )

    async def GetJobRun(
        self, request: pb.GetJobRunRequest, context: Context
    ) -> pb.GetJobRunResponse:
        job, description = await self._jobs.find_run(account_of(context), request.run_id)
        state = await self._runs.state(request.run_id, description)
        run = run_to_proto(
            request.run_id,
            job.id,
            job.name,
            state,
            scheduled=run_search.is_scheduled(request.run_id),
        )
        if state.status == pb.RUN_STATUS_RUNNING:
            steps = await run_pending_steps(self._runs.client, request.run_id, description)
            run.pending_steps.extend(steps)
        return pb.GetJobRunResponse(run=run)

    async def GetJobRunEvents(
        self, request: pb.GetJobRunEventsRequest, context: Context
    ) -> pb.GetJobRunEventsResponse:
        await self._jobs.find_run(account_of(context), request.run_id)
        events = await run_events(self._runs.client, request.run_id)
        return pb.GetJobRunEventsResponse(events=events)

    async def CancelJobRun(
        self, request: pb.CancelJobRunRequest, context: Context
    ) -> pb.CancelJobRunResponse:
        _, description = await self._jobs.find_run(account_of(context), request.run_id)
        await self._runs.cancel(request.run_id, description)
        return pb.CancelJobRunResponse()

    async def TerminateJobRun(
        self, request: pb.TerminateJobRunRequest, context: Context
    ) -> pb.TerminateJobRunResponse:
        _, description = await self._jobs.find_run(account_of(context), request.run_id)
        await self._runs.terminate(request.run_id, description, request.reason[:500])
        return pb.TerminateJobRunResponse()

    async def GetJobRunProgress(
        self, request: pb.GetJobRunProgressRequest, context: Context
    ) -> pb.GetJobRunProgressResponse:
        _, description = await self._jobs.find_run(account_of(context), request.run_id)
        progress, status = await self._runs.progress(request.run_id, description)
        return pb.GetJobRunProgressResponse(
            progress=progress_from_sync(progress, status, datetime.now(UTC))
        )

    async def WatchJobRunProgress(
        self, request: pb.WatchJobRunProgressRequest, context: Context
    ) -> AsyncIterator[pb.WatchJobRunProgressResponse]:
        await self._jobs.find_run(account_of(context), request.run_id)
        run_id = request.run_id
        async for progress in watch(lambda: self._runs.progress(run_id), self._runs.closed(run_id)):
            yield pb.WatchJobRunProgressResponse(progress=progress)
