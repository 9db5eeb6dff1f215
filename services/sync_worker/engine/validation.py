"""Validation of a job against its source's schema, before anything is stored or written."""

from services.sync_worker.engine.connectors import open_database
from services.sync_worker.engine.plan import build_plan
from veilsync.v1 import job_pb2


def validate_job(job: job_pb2.Job, source_url: str) -> None:
    """Raise InvalidArgumentError naming the first field that does not fit the source schema
    (unknown table or column, missing or unfit transformer, unbreakable foreign-key cycle);
    DatabaseUnavailableError when the source cannot be reached."""
    build_plan(job, open_database(source_url).introspect(), "", [])
