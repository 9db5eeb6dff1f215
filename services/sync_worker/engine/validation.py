"""Validation of a job against its source's schema."""

from veilsync.v1 import job_pb2


def validate_job(job: job_pb2.Job, source_url: str) -> None:
    """Raise InvalidArgumentError(field, message) naming the first problem: unknown table
    (field "job.mappings[i].table"), unknown column ("job.mappings[i].columns[name]"), no
    transformer set, a transformer unfit for the column's type. DatabaseUnavailableError when
    the source cannot be reached."""
    raise NotImplementedError  # lead is writing this
