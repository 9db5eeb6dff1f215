"""Calls of JobService: jobs, and the runs of jobs."""

from collections.abc import Sequence

from google.protobuf import field_mask_pb2

from veilsync.v1 import job_pb2
from veilsync_sdk.calls.base import (
    PAGE_SIZE,
    Call,
    JobLike,
    JobSpec,
    Paged,
    job_message,
    job_ref,
    page_of,
)


def create_job(
    job: JobSpec, *, transform_key: str = "", hook_secret: str = ""
) -> Call[job_pb2.Job]:
    return Call(
        lambda s: s.jobs.CreateJob,
        job_pb2.CreateJobRequest(
            job=job_message(job), transform_key=transform_key, hook_secret=hook_secret
        ),
        lambda r: r.job,
        long=True,
    )


def get_job(job: JobLike, effective: bool = False) -> Call[job_pb2.Job]:
    return Call(
        lambda s: s.jobs.GetJob,
        job_pb2.GetJobRequest(job=job_ref(job), effective=effective),
        lambda r: r.job,
    )


def list_jobs() -> Paged[job_pb2.Job]:
    return page_of(
        lambda s: s.jobs.ListJobs,
        lambda token: job_pb2.ListJobsRequest(page_size=PAGE_SIZE, page_token=token),
        lambda r: r.jobs,
    )


def update_job(
    job: JobLike, update: JobSpec, fields: Sequence[str] = (), hook_secret: str = ""
) -> Call[job_pb2.Job]:
    return Call(
        lambda s: s.jobs.UpdateJob,
        job_pb2.UpdateJobRequest(
            job=job_ref(job),
            update=job_message(update),
            update_mask=field_mask_pb2.FieldMask(paths=list(fields)),
            hook_secret=hook_secret,
        ),
        lambda r: r.job,
        long=True,
    )


def delete_job(job: JobLike) -> Call[None]:
    return Call(
        lambda s: s.jobs.DeleteJob, job_pb2.DeleteJobRequest(job=job_ref(job)), lambda r: None
    )


def pause_job(job: JobLike) -> Call[job_pb2.Job]:
    return Call(
        lambda s: s.jobs.PauseJob, job_pb2.PauseJobRequest(job=job_ref(job)), lambda r: r.job
    )


def resume_job(job: JobLike) -> Call[job_pb2.Job]:
    return Call(
        lambda s: s.jobs.ResumeJob, job_pb2.ResumeJobRequest(job=job_ref(job)), lambda r: r.job
    )


def validate_job(
    job: JobLike | None = None, *, spec: JobSpec | None = None
) -> Call[job_pb2.ValidateJobResponse]:
    if spec is not None and job is None:
        request = job_pb2.ValidateJobRequest(spec=job_message(spec))
    elif job is not None and spec is None:
        request = job_pb2.ValidateJobRequest(job=job_ref(job))
    else:
        raise ValueError("validate a stored job or a spec, one of the two")
    return Call(lambda s: s.jobs.ValidateJob, request, lambda r: r, long=True)


def trigger_run(job: JobLike) -> Call[job_pb2.JobRun]:
    return Call(
        lambda s: s.jobs.TriggerJobRun,
        job_pb2.TriggerJobRunRequest(job=job_ref(job)),
        lambda r: r.run,
    )


def list_runs(
    job: JobLike, status: "job_pb2.RunStatus.ValueType" = job_pb2.RUN_STATUS_UNSPECIFIED
) -> Paged[job_pb2.JobRun]:
    return page_of(
        lambda s: s.jobs.ListJobRuns,
        lambda token: job_pb2.ListJobRunsRequest(
            job=job_ref(job), status=status, page_size=PAGE_SIZE, page_token=token
        ),
        lambda r: r.runs,
    )


# --- runs -----------------------------------------------------------------------------------


def get_run(run_id: str) -> Call[job_pb2.JobRun]:
    return Call(
        lambda s: s.jobs.GetJobRun, job_pb2.GetJobRunRequest(run_id=run_id), lambda r: r.run
    )


def run_progress(run_id: str) -> Call[job_pb2.JobRunProgress]:
    return Call(
        lambda s: s.jobs.GetJobRunProgress,
        job_pb2.GetJobRunProgressRequest(run_id=run_id),
        lambda r: r.progress,
    )


def run_events(run_id: str) -> Call[list[job_pb2.TableEvent]]:
    return Call(
        lambda s: s.jobs.GetJobRunEvents,
        job_pb2.GetJobRunEventsRequest(run_id=run_id),
        lambda r: list(r.events),
    )


def cancel_run(run_id: str) -> Call[None]:
    return Call(
        lambda s: s.jobs.CancelJobRun, job_pb2.CancelJobRunRequest(run_id=run_id), lambda r: None
    )


def terminate_run(run_id: str, reason: str = "") -> Call[None]:
    return Call(
        lambda s: s.jobs.TerminateJobRun,
        job_pb2.TerminateJobRunRequest(run_id=run_id, reason=reason),
        lambda r: None,
    )


def watch_progress(run_id: str) -> Call[job_pb2.JobRunProgress]:
    """The server-streaming watch; `result` maps each message of the stream."""
    return Call(
        lambda s: s.jobs.WatchJobRunProgress,
        job_pb2.WatchJobRunProgressRequest(run_id=run_id),
        lambda r: r.progress,
    )
