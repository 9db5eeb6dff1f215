"""Request checks at the edge: what can be told wrong without a database."""

import secrets

from services.common import db_urls
from services.common.errors import InvalidArgumentError
from services.common.store.names import check_name
from veilsync.v1 import connection_pb2, job_pb2

MIN_TRANSFORM_KEY_CHARS = 16
MAX_PARALLEL_TABLES = 64


def check_url(url: str, field: str = "url") -> str:
    if not url:
        raise InvalidArgumentError(field, "is required")
    db_urls.engine_of(url, field)
    return url


def check_create_connection(request: connection_pb2.CreateConnectionRequest) -> None:
    check_name(request.name, "name")
    check_url(request.url, "url")


def connection_ref(
    ref: connection_pb2.ConnectionRef, field: str = "connection"
) -> tuple[str | None, str | None]:
    """(id, name) of a reference, exactly one set."""
    kind = ref.WhichOneof("ref")
    if kind == "id" and ref.id:
        return ref.id, None
    if kind == "name" and ref.name:
        return None, ref.name
    raise InvalidArgumentError(field, "set the connection's id or name")


def job_ref(ref: job_pb2.JobRef, field: str = "job") -> tuple[str | None, str | None]:
    """(id, name) of a reference, exactly one set."""
    kind = ref.WhichOneof("ref")
    if kind == "id" and ref.id:
        return ref.id, None
    if kind == "name" and ref.name:
        return None, ref.name
    raise InvalidArgumentError(field, "set the job's id or name")


def run_id(value: str, field: str = "run_id") -> str:
    if not value:
        raise InvalidArgumentError(field, "is required")
    return value


def check_job(job: job_pb2.Job) -> None:
    """The job's shape; its tables and columns are checked against the source later."""
    check_name(job.name, "job.name")
    if not job.source.connection:
        raise InvalidArgumentError("job.source.connection", "is required")
    if not job.destinations:
        raise InvalidArgumentError("job.destinations", "at least one destination is required")
    seen = {job.source.connection}
    for i, destination in enumerate(job.destinations):
        field = f"job.destinations[{i}].connection"
        if not destination.connection:
            raise InvalidArgumentError(field, "is required")
        if destination.connection == job.source.connection:
            # Writing into the source would overwrite production data with its own copy.
            raise InvalidArgumentError(field, "a destination cannot be the job's source")
        if destination.connection in seen:
            raise InvalidArgumentError(field, f'"{destination.connection}" is named twice')
        seen.add(destination.connection)
    if not 0 <= job.max_parallel_tables <= MAX_PARALLEL_TABLES:
        raise InvalidArgumentError(
            "job.max_parallel_tables", f"must be between 0 and {MAX_PARALLEL_TABLES}"
        )
    tables: set[str] = set()
    for i, mapping in enumerate(job.mappings):
        if not mapping.table:
            raise InvalidArgumentError(f"job.mappings[{i}].table", "is required")
        if mapping.table in tables:
            raise InvalidArgumentError(
                f"job.mappings[{i}].table", f'"{mapping.table}" is mapped twice'
            )
        tables.add(mapping.table)
        for column, config in mapping.columns.items():
            if config.WhichOneof("config") is None:
                raise InvalidArgumentError(
                    f"job.mappings[{i}].columns[{column}]", "no transformer is set"
                )


def transform_key(requested: str) -> str:
    """The job's secret key: the caller's, or a fresh random one."""
    if not requested:
        return secrets.token_urlsafe(32)
    if len(requested) < MIN_TRANSFORM_KEY_CHARS:
        raise InvalidArgumentError(
            "transform_key", f"must be at least {MIN_TRANSFORM_KEY_CHARS} characters"
        )
    return requested
