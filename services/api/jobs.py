"""Jobs across their two homes: the spec in the metadata store, the schedule in Temporal.
Every change validates first, writes the store, then brings the schedule in step."""

import asyncio
import logging
from collections.abc import Sequence

from temporalio.client import WorkflowExecutionDescription

from services.api import validation
from services.api.mapping.jobs import apply_update
from services.api.runs import RunControl, owner
from services.api.schedules import ScheduleControl
from services.common.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError
from services.common.store.store import MetadataStore
from services.common.transform_keys import job_key
from services.engine.planning.drift import Snapshot, parse_snapshot, snapshot_json
from services.engine.planning.job_plan import (
    JobReport,
    JobShape,
    effective_job,
    job_report,
    read_shape,
)
from services.engine.planning.rules import Violation, raise_first
from services.engine.planning.transformer_versions import REPIN
from services.engine.schema import Schema
from veilsync.v1 import job_pb2

_log = logging.getLogger(__name__)


class JobControl:
    def __init__(
        self,
        store: MetadataStore,
        runs: RunControl,
        schedules: ScheduleControl,
        max_job_bytes: int,
    ) -> None:
        self._store = store
        self._runs = runs
        self._schedules = schedules
        self._max_job_bytes = max_job_bytes

    async def create(
        self, account_id: str, job: job_pb2.Job, transform_key: str, hook_secret: str
    ) -> job_pb2.Job:
        validation.check_job_size(job, self._max_job_bytes, "job")
        validation.check_job(job)
        passphrase = validation.transform_key(transform_key)
        if job.hooks and not hook_secret:
            raise InvalidArgumentError("hook_secret", "is required when the job has hooks")
        job = _recorded_anew(job)
        schema = await asyncio.to_thread(self._checked, account_id, job)
        # Stretching takes about a second of CPU: once per job, off the event loop.
        key = await asyncio.to_thread(job_key, passphrase)
        stored = await asyncio.to_thread(
            self._store.create_job,
            account_id,
            job,
            key.material,
            key_salt=key.salt,
            key_kdf=key.kdf,
            hook_secret=hook_secret,
            schema_snapshot=snapshot_json(schema),
        )
        try:
            await self._schedules.sync(account_id, stored)
        except BaseException:
            # The schedule was refused: the job must not stay half created.
            await asyncio.to_thread(self._store.delete_job, account_id, job_id=stored.id)
            raise
        return stored

    async def update(
        self,
        account_id: str,
        ref: job_pb2.JobRef,
        update: job_pb2.Job,
        paths: Sequence[str],
        hook_secret: str,
    ) -> job_pb2.Job:
        validation.check_job_size(update, self._max_job_bytes, "update")
        current = await self.get(account_id, ref)
        merged = apply_update(current, update, [p for p in paths if p != REPIN])
        if REPIN in paths:
            merged = _recorded_anew(merged)
        validation.check_job_size(merged, self._max_job_bytes, "update")
        validation.check_job(merged)
        if merged.hooks and not hook_secret:
            has_secret = await asyncio.to_thread(
                self._store.has_hook_secret, account_id, current.id
            )
            if not has_secret:
                raise InvalidArgumentError("hook_secret", "is required when the job has hooks")
        schema = await asyncio.to_thread(self._checked, account_id, merged)
        # The schedule first: Temporal may still refuse the cron, and then nothing changed.
        await self._schedules.sync(account_id, merged)
        return await asyncio.to_thread(
            self._store.update_job,
            account_id,
            merged,
            hook_secret=hook_secret,
            schema_snapshot=snapshot_json(schema),
        )

    async def get(self, account_id: str, ref: job_pb2.JobRef) -> job_pb2.Job:
        job_id, name = validation.job_ref(ref)
        return await asyncio.to_thread(self._store.get_job, account_id, job_id=job_id, name=name)

    async def effective(self, account_id: str, ref: job_pb2.JobRef) -> job_pb2.Job:
        """The job as its runs apply it now (job_plan.effective_job), read against its source;
        FailedPreconditionError when the source no longer fits the job."""
        job = await self.get(account_id, ref)
        shape = await asyncio.to_thread(read_shape, job, account_id, self._store)
        try:
            return effective_job(shape)
        except InvalidArgumentError as err:
            # The stored job planned when it was saved: its source changed since.
            raise FailedPreconditionError(
                f'job "{job.name}" no longer fits its source ({err}); `jobs validate` lists why'
            ) from err

    async def delete(self, account_id: str, ref: job_pb2.JobRef) -> None:
        job = await self.get(account_id, ref)
        if await self._runs.job_has_running(account_id, job.id):
            raise FailedPreconditionError(
                f'job "{job.name}" has a run in flight; wait for it to finish'
            )
        await self._schedules.delete(job.id)
        await asyncio.to_thread(self._store.delete_job, account_id, job_id=job.id)

    async def set_paused(self, account_id: str, ref: job_pb2.JobRef, paused: bool) -> job_pb2.Job:
        job = await self.get(account_id, ref)
        if not job.schedule:
            raise FailedPreconditionError(f'job "{job.name}" has no schedule to pause or resume')
        job.paused = paused
        await self._schedules.sync(account_id, job)
        return await asyncio.to_thread(self._store.set_paused, account_id, job.id, paused)

    async def validate(
        self, account_id: str, ref: job_pb2.JobRef | None, spec: job_pb2.Job | None
    ) -> list[Violation]:
        saved = None
        if ref is not None:
            job = await self.get(account_id, ref)
            saved = parse_snapshot(
                await asyncio.to_thread(self._store.schema_snapshot, account_id, job.id)
            )
        elif spec is not None:
            validation.check_job_size(spec, self._max_job_bytes, "spec")
            validation.check_job(spec)
            job = _recorded_anew(spec)  # as CreateJob would save it
        else:
            raise InvalidArgumentError("target", "set a job or a spec")
        _, report = await asyncio.to_thread(self._report, account_id, job, saved)
        return report.violations

    async def find_run(
        self, account_id: str, run_id: str
    ) -> tuple[job_pb2.Job, WorkflowExecutionDescription]:
        """The job of a run the caller may see, and the run's description; NotFoundError for
        any other run."""
        validation.check_run_id(run_id)
        description = await self._runs.describe(run_id)
        owner_account, job_id = owner(description)
        if owner_account != account_id or job_id is None:
            raise NotFoundError(f'run "{run_id}" not found')
        try:
            job = await asyncio.to_thread(self._store.get_job, account_id, job_id=job_id)
        except NotFoundError as err:
            raise NotFoundError(f'run "{run_id}" not found') from err
        return job, description

    def _checked(self, account_id: str, job: job_pb2.Job) -> Schema:
        """The schema the job follows, once the job is known to plan: the first error of the
        report ValidateJob would return is raised, so a job is saved exactly when a validation
        of it finds no error. The job then records the versions of the transformers it
        applies (those it recorded before are the ones it plans with: planning refuses
        others)."""
        shape, report = self._report(account_id, job, None)
        raise_first(report.violations)
        job.ClearField("transformer_versions")
        job.transformer_versions.update(report.versions)
        return shape.schema

    def _report(
        self, account_id: str, job: job_pb2.Job, saved: Snapshot | None
    ) -> tuple[JobShape, JobReport]:
        """The job ready to plan and everything that keeps it from saving and planning,
        errors first, with the transformer versions it plans with: the one check behind
        CreateJob and UpdateJob (stopping at the first error) and ValidateJob (listing them
        all), planning the job once."""
        shape = read_shape(job, account_id, self._store)
        return shape, job_report(shape, saved)


def _recorded_anew(job: job_pb2.Job) -> job_pb2.Job:
    """The job without recorded transformer versions, so that saving it records the current
    ones: what a new job gets (the field is output only) and an update asks for by name."""
    fresh = job_pb2.Job()
    fresh.CopyFrom(job)
    fresh.ClearField("transformer_versions")
    return fresh
