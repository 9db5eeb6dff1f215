"""The sync activities: each one resolves ids to connections and keys through the metadata
store, runs one engine step, and turns domain errors into Temporal failures."""

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, Protocol, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.common.errors import DatabaseUnavailableError, VeilsyncError
from services.sync_worker.engine.connectors import open_database
from services.sync_worker.engine.plan import build_plan
from services.sync_worker.engine.sync import Destination, copy_table, fill_deferred_columns
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


class JobDirectory(Protocol):
    """What activities read from the metadata store."""

    def connection_url(self, account_id: str, connection_id: str) -> str: ...

    def get_job(
        self, account_id: str, *, job_id: str | None = None, name: str | None = None
    ) -> job_pb2.Job: ...

    def transform_key(self, account_id: str, job_id: str) -> bytes: ...

    def connection_id_by_name(self, account_id: str, name: str) -> str: ...


# Sends SetSyncProgress to (workflow id, run id); best effort, never blocks the copy.
ProgressSender = Callable[[str, str, sync_pb2.SetSyncProgressRequest], None]


def _domain_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """The one translation of domain errors into Temporal failures: an unreachable database
    is retried, every other deliberate error fails at once."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except DatabaseUnavailableError as err:
            raise ApplicationError(str(err), type=type(err).__name__) from err
        except VeilsyncError as err:
            raise ApplicationError(str(err), type=type(err).__name__, non_retryable=True) from err

    return wrapper


class SyncActivities:
    def __init__(self, directory: JobDirectory, send_progress: ProgressSender) -> None:
        self._directory = directory
        self._send_progress = send_progress

    def _destinations(
        self, account_id: str, plans: list[sync_pb2.DestinationPlan]
    ) -> list[Destination]:
        return [
            Destination(
                open_database(self._directory.connection_url(account_id, p.connection_id)), p
            )
            for p in plans
        ]

    @activity.defn(name="plan_sync")
    @_domain_errors
    def plan_sync(self, request: sync_pb2.PlanSyncInput) -> sync_pb2.PlanSyncResult:
        account = request.account_id
        job = self._directory.get_job(account, job_id=request.job_id)
        source_id = self._directory.connection_id_by_name(account, job.source.connection)
        source = open_database(self._directory.connection_url(account, source_id))
        destinations = [
            sync_pb2.DestinationPlan(
                connection_id=self._directory.connection_id_by_name(account, d.connection),
                truncate_before_insert=d.truncate_before_insert,
                init_schema=d.init_schema,
                on_conflict=d.on_conflict,
            )
            for d in job.destinations
        ]
        plan = build_plan(job, source.introspect(), source_id, destinations)
        for table in plan.tables:
            if table.estimated_rows == 0:  # never analyzed: count, so progress has a total
                table.estimated_rows = source.count(table.schema, table.name)
        return sync_pb2.PlanSyncResult(plan=plan)

    @activity.defn(name="prepare_destinations")
    @_domain_errors
    def prepare_destinations(
        self, request: sync_pb2.PrepareDestinationsInput
    ) -> sync_pb2.PrepareDestinationsResult:
        plan, account = request.plan, request.account_id
        source = open_database(self._directory.connection_url(account, plan.source_connection_id))
        wanted = [f"{t.schema}.{t.name}" for t in plan.tables]
        created: list[str] = []
        for destination in self._destinations(account, list(plan.destinations)):
            database = destination.database
            if destination.plan.init_schema:
                tables = source.introspect().tables
                created += database.create_tables([tables[n] for n in wanted], source.engine)
            if destination.plan.truncate_before_insert:
                database.truncate([database.target_name(t.schema, t.name) for t in plan.tables])
        return sync_pb2.PrepareDestinationsResult(created_tables=created)

    @activity.defn(name="sync_table")
    @_domain_errors
    def sync_table(self, request: sync_pb2.SyncTableInput) -> sync_pb2.SyncTableResult:
        account, table = request.account_id, request.table
        name = f"{table.schema}.{table.name}"
        info = activity.info()

        def report(read: int, written: int) -> None:
            activity.heartbeat(read)
            progress = sync_pb2.TableProgress(table=name, rows_read=read, rows_written=written)
            self._send_progress(
                info.workflow_id or "",
                info.workflow_run_id or "",
                sync_pb2.SetSyncProgressRequest(table=progress),
            )

        source = open_database(
            self._directory.connection_url(account, request.source_connection_id)
        )
        read, written = copy_table(
            source,
            self._destinations(account, list(request.destinations)),
            table,
            self._directory.transform_key(account, request.job_id),
            report,
        )
        log.info("copied %s: %d rows read, %d written", name, read, written)
        return sync_pb2.SyncTableResult(table=name, rows_read=read, rows_written=written)

    @activity.defn(name="fill_deferred_columns")
    @_domain_errors
    def fill_deferred_columns(
        self, request: sync_pb2.FillDeferredColumnsInput
    ) -> sync_pb2.FillDeferredColumnsResult:
        inner = request.table
        account = inner.account_id
        source = open_database(self._directory.connection_url(account, inner.source_connection_id))
        updated = fill_deferred_columns(
            source,
            self._destinations(account, list(inner.destinations)),
            inner.table,
            self._directory.transform_key(account, inner.job_id),
        )
        return sync_pb2.FillDeferredColumnsResult(rows_updated=updated)

    @activity.defn(name="finish_destinations")
    @_domain_errors
    def finish_destinations(
        self, request: sync_pb2.FinishDestinationsInput
    ) -> sync_pb2.FinishDestinationsResult:
        reset: list[str] = []
        for destination in self._destinations(request.account_id, list(request.plan.destinations)):
            database = destination.database
            reset += database.reset_sequences(
                [database.target_name(t.schema, t.name) for t in request.plan.tables]
            )
        return sync_pb2.FinishDestinationsResult(reset_sequences=reset)

    def all(self) -> list[Callable[..., object]]:
        return [
            self.plan_sync,
            self.prepare_destinations,
            self.sync_table,
            self.fill_deferred_columns,
            self.finish_destinations,
        ]
