"""Jobs: field-mask updates, validation reports and schedules as API messages."""

from collections.abc import Sequence

from services.api.schedules import ScheduleInfo
from services.engine.planning.rules import Kind, Violation
from veilsync.v1 import job_pb2

_KINDS = {
    Kind.UNKNOWN_TABLE: job_pb2.VIOLATION_KIND_UNKNOWN_TABLE,
    Kind.UNKNOWN_COLUMN: job_pb2.VIOLATION_KIND_UNKNOWN_COLUMN,
    Kind.TYPE_MISMATCH: job_pb2.VIOLATION_KIND_TYPE_MISMATCH,
    Kind.UNSUPPORTED_CYCLE: job_pb2.VIOLATION_KIND_UNSUPPORTED_CYCLE,
    Kind.UNMAPPED_NEW_COLUMN: job_pb2.VIOLATION_KIND_UNMAPPED_NEW_COLUMN,
    Kind.TYPE_CHANGED: job_pb2.VIOLATION_KIND_TYPE_CHANGED,
    Kind.REMOVED: job_pb2.VIOLATION_KIND_REMOVED,
    Kind.INCONSISTENT_KEY: job_pb2.VIOLATION_KIND_INCONSISTENT_KEY,
    Kind.INVALID_MAPPING: job_pb2.VIOLATION_KIND_INVALID_MAPPING,
}


def apply_update(current: job_pb2.Job, update: job_pb2.Job, paths: Sequence[str]) -> job_pb2.Job:
    """The current job with the named top-level fields taken from `update`."""
    merged = job_pb2.Job()
    merged.CopyFrom(current)
    for path in paths:
        merged.ClearField(path)  # type: ignore[arg-type]
        field = job_pb2.Job.DESCRIPTOR.fields_by_name[path]
        if field.is_repeated:
            getattr(merged, path).extend(getattr(update, path))
        elif field.message_type is not None:
            if update.HasField(path):  # type: ignore[arg-type]
                getattr(merged, path).CopyFrom(getattr(update, path))
        else:
            setattr(merged, path, getattr(update, path))
    return merged


def validation_to_proto(violations: Sequence[Violation]) -> job_pb2.ValidateJobResponse:
    return job_pb2.ValidateJobResponse(
        valid=not any(v.error for v in violations),
        violations=[
            job_pb2.JobViolation(
                field=v.field,
                table=v.table,
                column=v.column,
                kind=_KINDS[v.kind],
                severity=job_pb2.VIOLATION_SEVERITY_ERROR
                if v.error
                else job_pb2.VIOLATION_SEVERITY_WARNING,
                description=v.description,
            )
            for v in violations
        ],
    )


def schedule_to_proto(job: job_pb2.Job, info: ScheduleInfo) -> job_pb2.GetJobScheduleResponse:
    response = job_pb2.GetJobScheduleResponse(schedule=job.schedule, paused=info.paused)
    for when in info.next_run_times:
        response.next_run_times.add().FromDatetime(when)
    for recent in info.recent_runs:
        run = response.recent_runs.add(run_id=recent.run_id)
        run.schedule_time.FromDatetime(recent.schedule_time)
        run.start_time.FromDatetime(recent.start_time)
    return response
