"""Request checks at the edge: what can be told wrong without a database."""

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from google.protobuf import duration_pb2, field_mask_pb2, timestamp_pb2

from services.api.schedule_spec import check_schedule
from services.common import db_urls
from services.common.errors import InvalidArgumentError
from services.common.store.names import check_name
from services.common.transform_keys import passphrase_weakness
from services.engine.planning.transformer_versions import REPIN
from services.engine.privacy.policy import check_policy
from veilsync.v1 import connection_pb2, job_pb2

MAX_PARALLEL_TABLES = 64


def check_url(url: str, allow_local_options: bool, field: str = "url") -> str:
    """A URL Veilsync reads; with `allow_local_options` off (the server's setting), none of
    its options may reach the worker's local files or sockets."""
    if not url:
        raise InvalidArgumentError(field, "is required")
    try:
        db_urls.engine_of(url, field)
        urlsplit(url).port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as err:
        raise InvalidArgumentError(field, "not a URL") from err
    if not allow_local_options:
        db_urls.check_local_options(url, field)
    return url


def check_create_connection(
    request: connection_pb2.CreateConnectionRequest, allow_local_options: bool
) -> None:
    check_name(request.name, "name")
    check_url(request.url, allow_local_options)


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


def check_update_connection(
    request: connection_pb2.UpdateConnectionRequest, allow_local_options: bool
) -> None:
    connection_ref(request.connection)
    check_url(request.url, allow_local_options)


def run_id(value: str, field: str = "run_id") -> str:
    if not value:
        raise InvalidArgumentError(field, "is required")
    return value


def check_job_size(job: job_pb2.Job, limit: int, field: str) -> None:
    """Refuse a job larger than `limit` bytes encoded, before anything parses its contents."""
    size = job.ByteSize()
    if size > limit:
        raise InvalidArgumentError(
            field,
            f"the job is {size:,} bytes, over the limit of {limit:,} bytes "
            "(VEILSYNC_MAX_JOB_BYTES on the API)",
        )


def check_job(job: job_pb2.Job) -> None:
    """The job's shape; its tables and columns are checked against the source later."""
    check_name(job.name, "job.name")
    if job.HasField("generate"):
        check_generate(job)
    elif not job.source.connection:
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
    if job.split_table_rows < 0:
        raise InvalidArgumentError("job.split_table_rows", "must not be negative")
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
    for i, destination in enumerate(job.destinations):
        check_enum(
            destination.on_conflict,
            job_pb2.OnConflict.values(),
            f"job.destinations[{i}].on_conflict",
        )
    check_schedule(job.schedule, "job.schedule")
    check_run_options(job.run_options)
    check_hooks(job)
    check_policy(job.privacy, "job.privacy")


def check_generate(job: job_pb2.Job) -> None:
    """A generate job's spec; the source, when named, only gives the tables' shape."""
    if job.source.subsets:
        raise InvalidArgumentError("job.source.subsets", "a generate job copies no source rows")
    if job.mappings:
        raise InvalidArgumentError("job.mappings", "set generators in job.generate.tables")
    if job.HasField("privacy"):
        raise InvalidArgumentError(
            "job.privacy", "a generate job copies no source values: it has no privacy report"
        )
    if job.generate.default_rows < 0:
        raise InvalidArgumentError("job.generate.default_rows", "must not be negative")
    for i, table in enumerate(job.generate.tables):
        field = f"job.generate.tables[{i}]"
        if not table.table:
            raise InvalidArgumentError(f"{field}.table", "is required")
        if table.rows < 0:
            raise InvalidArgumentError(f"{field}.rows", "must not be negative")
        for column, config in table.columns.items():
            if config.WhichOneof("config") is None:
                raise InvalidArgumentError(f"{field}.columns[{column}]", "no generator is set")


def transform_key(requested: str) -> str:
    """The caller's passphrase for the job's key once it is strong enough to resist offline
    guessing; empty (a key is generated) when the caller gave none."""
    weakness = passphrase_weakness(requested) if requested else None
    if weakness:
        raise InvalidArgumentError("transform_key", weakness)
    return requested


_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,254}")
_HOOK_SCHEMES = ("https", "http")
MIN_HOOK_SECRET_CHARS = 16
MAX_HOOKS = 10
MAX_ATTEMPTS = 100
# Timestamps proto allows but datetime cannot hold are refused here rather than crash later.
_MIN_SECONDS, _MAX_SECONDS = 0, 253402300799  # 1970-01-01 .. 9999-12-31
_MAX_DURATION = timedelta(days=3650)


def check_run_id(value: str, field: str = "run_id") -> str:
    run_id(value, field)
    if not _RUN_ID.fullmatch(value):
        raise InvalidArgumentError(field, "not a run id this API returned")
    return value


def check_timestamp(value: timestamp_pb2.Timestamp, field: str) -> datetime:
    if not _MIN_SECONDS <= value.seconds <= _MAX_SECONDS or not 0 <= value.nanos < 10**9:
        raise InvalidArgumentError(field, "must be between 1970 and 9999")
    return value.ToDatetime(tzinfo=UTC)


def check_duration(value: duration_pb2.Duration, field: str) -> timedelta:
    if not 0 < value.seconds <= _MAX_DURATION.total_seconds() or not 0 <= value.nanos < 10**9:
        raise InvalidArgumentError(field, "must be positive and at most 3650 days")
    return value.ToTimedelta()


def check_run_options(options: job_pb2.RunOptions, field: str = "job.run_options") -> None:
    if options.HasField("run_timeout"):
        check_duration(options.run_timeout, f"{field}.run_timeout")
    if options.HasField("table_timeout"):
        check_duration(options.table_timeout, f"{field}.table_timeout")
    if options.HasField("activity_max_attempts") and not (
        1 <= options.activity_max_attempts <= MAX_ATTEMPTS
    ):
        raise InvalidArgumentError(
            f"{field}.activity_max_attempts", f"must be between 1 and {MAX_ATTEMPTS}"
        )


def check_hooks(job: job_pb2.Job) -> None:
    if len(job.hooks) > MAX_HOOKS:
        raise InvalidArgumentError("job.hooks", f"at most {MAX_HOOKS} hooks")
    known = set(job_pb2.RunHookEvent.values())
    for i, hook in enumerate(job.hooks):
        field = f"job.hooks[{i}]"
        try:
            parts = urlsplit(hook.url)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError as err:
            raise InvalidArgumentError(f"{field}.url", "not a URL") from err
        if parts.scheme not in _HOOK_SCHEMES or not parts.hostname:
            raise InvalidArgumentError(f"{field}.url", "use an https:// or http:// URL")
        for event in hook.events:
            if event not in known or event == job_pb2.RUN_HOOK_EVENT_UNSPECIFIED:
                raise InvalidArgumentError(f"{field}.events", "unknown event")


def hook_secret(requested: str, field: str = "hook_secret") -> str:
    if requested and len(requested) < MIN_HOOK_SECRET_CHARS:
        raise InvalidArgumentError(field, f"must be at least {MIN_HOOK_SECRET_CHARS} characters")
    return requested


def check_enum(value: int, values: Iterable[int], field: str) -> None:
    if value not in set(values):
        raise InvalidArgumentError(field, f"unknown value {value}")


UPDATABLE_JOB_FIELDS = (
    "source",
    "destinations",
    "mappings",
    "max_parallel_tables",
    "split_table_rows",
    "schedule",
    "allow_overlap",
    "run_options",
    "hooks",
    "generate",
    "synthesize",
    "privacy",
)


def update_paths(mask: field_mask_pb2.FieldMask) -> list[str]:
    """The top-level fields an update names; all updatable ones for an empty mask."""
    if not mask.paths:
        return list(UPDATABLE_JOB_FIELDS)
    for path in mask.paths:
        # Recording the current transformer versions changes outputs: only when named.
        if path not in UPDATABLE_JOB_FIELDS and path != REPIN:
            raise InvalidArgumentError(
                "update_mask",
                f"{path!r} cannot be updated; use {', '.join((*UPDATABLE_JOB_FIELDS, REPIN))}",
            )
    return list(dict.fromkeys(mask.paths))
