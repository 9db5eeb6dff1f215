"""JobService: jobs in the metadata store, their runs in Temporal."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import grpc

from services.api import validation
from services.api.accounts import account_of
from services.api.mapping.progress import progress_from_sync
from services.api.mapping.runs import RunState, job_run_to_proto
from services.api.runs import RunControl
from services.common.errors import FailedPreconditionError
from services.common.store.store import MetadataStore
from services.sync_worker.engine.validation import validate_job
from veilsync.v1 import job_pb2 as pb
from veilsync.v1 import job_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]


class JobServicer(job_pb2_grpc.JobServiceServicer):
    def __init__(self, store: MetadataStore, runs: RunControl) -> None:
        self._store = store
        self._runs = runs

    async def CreateJob(
        self, request: pb.CreateJobRequest, context: Context
    ) -> pb.CreateJobResponse:
        account_id = account_of(context)
        validation.check_job(request.job)
        key = validation.transform_key(request.transform_key)
        source_url = await asyncio.to_thread(self._source_url, account_id, request.job)
        await asyncio.to_thread(validate_job, request.job, source_url)
        job = await asyncio.to_thread(self._store.create_job, account_id, request.job, key)
        return pb.CreateJobResponse(job=job)

    async def GetJob(self, request: pb.GetJobRequest, context: Context) -> pb.GetJobResponse:
        job_id, name = validation.job_ref(request.job)
        job = await asyncio.to_thread(
            self._store.get_job, account_of(context), job_id=job_id, name=name
        )
        return pb.GetJobResponse(job=job)

    async def ListJobs(self, request: pb.ListJobsRequest, context: Context) -> pb.ListJobsResponse:
        page = await asyncio.to_thread(
            self._store.list_jobs, account_of(context), request.page_size, request.page_token
        )
        return pb.ListJobsResponse(jobs=page.items, next_page_token=page.next_page_token)

    async def DeleteJob(
        self, request: pb.DeleteJobRequest, context: Context
    ) -> pb.DeleteJobResponse:
        account_id = account_of(context)
        job_id, name = validation.job_ref(request.job)
        job = await asyncio.to_thread(self._store.get_job, account_id, job_id=job_id, name=name)
        runs = await asyncio.to_thread(self._store.list_runs, account_id, job.id)
        if await self._runs.any_running(run.id for run in runs):
            raise FailedPreconditionError(
                f'job "{job.name}" has a run in flight; wait for it to finish'
            )
        await asyncio.to_thread(self._store.delete_job, account_id, job_id=job.id)
        return pb.DeleteJobResponse()

    async def TriggerJobRun(
        self, request: pb.TriggerJobRunRequest, context: Context
    ) -> pb.TriggerJobRunResponse:
        account_id = account_of(context)
        job_id, name = validation.job_ref(request.job)
        job = await asyncio.to_thread(self._store.get_job, account_id, job_id=job_id, name=name)
        run_id = await self._runs.start(account_id, job.id)
        record = await asyncio.to_thread(self._store.record_run, account_id, job.id, run_id)
        state = RunState(pb.RUN_STATUS_RUNNING, record.create_time, None)
        return pb.TriggerJobRunResponse(run=job_run_to_proto(record, state))

    async def GetJobRun(
        self, request: pb.GetJobRunRequest, context: Context
    ) -> pb.GetJobRunResponse:
        run_id = validation.run_id(request.run_id)
        # The store first: it scopes the run to the caller's account.
        record = await asyncio.to_thread(self._store.get_run, account_of(context), run_id)
        state = await self._runs.state(record.id)
        return pb.GetJobRunResponse(run=job_run_to_proto(record, state))

    async def GetJobRunProgress(
        self, request: pb.GetJobRunProgressRequest, context: Context
    ) -> pb.GetJobRunProgressResponse:
        run_id = validation.run_id(request.run_id)
        record = await asyncio.to_thread(self._store.get_run, account_of(context), run_id)
        progress, status = await self._runs.progress(record.id)
        return pb.GetJobRunProgressResponse(
            progress=progress_from_sync(progress, status, datetime.now(UTC))
        )

    def _source_url(self, account_id: str, job: pb.Job) -> str:
        """The source's URL, after checking that every connection the job names exists."""
        for destination in job.destinations:
            self._store.connection_id_by_name(account_id, destination.connection)
        source_id = self._store.connection_id_by_name(account_id, job.source.connection)
        return self._store.connection_url(account_id, source_id)
