"""The sync activities: each one resolves ids to connections and keys through the metadata
store, runs one engine step, and turns domain errors into Temporal failures."""

import logging
import time
from collections.abc import Callable, Sequence
from concurrent import futures
from typing import Any, Protocol

from temporalio import activity

from services.common.activity_errors import domain_errors
from services.common.observability.metrics import record_table_copy
from services.contract.ml_worker_temporal import ML_TASK_QUEUE
from services.contract.sync_worker_temporal import (
    FILL_DEFERRED_COLUMNS_ACTIVITY,
    FINISH_DESTINATIONS_ACTIVITY,
    PLAN_SYNC_ACTIVITY,
    PREPARE_DESTINATIONS_ACTIVITY,
    SYNC_TABLE_ACTIVITY,
    SYNC_TABLES_ACTIVITY,
    VERIFY_DESTINATIONS_ACTIVITY,
)
from services.engine.connectors import open_database
from services.engine.connectors.base import Database
from services.engine.copy.destinations import (
    check_source_privileges,
    finish_destinations,
    prepare_destinations,
)
from services.engine.copy.load_groups import relaxed_loads
from services.engine.copy.table_copy import (
    CHUNK_ROWS,
    Destination,
    copy_table,
    fill_deferred_columns,
    resumed_from,
    sharing_connections,
)
from services.engine.copy.verify import verify_run
from services.engine.planning.job_plan import JobConnections, read_shape, sync_plan
from services.engine.planning.sync_plan import split_parts
from services.engine.transformers.random_keys import derive_run_key
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2

log = logging.getLogger(__name__)

# Progress signals add history events and workflow tasks. A table signals at most once a
# second, and the gap grows with its age (a 50th of it), so even a table copied for days adds
# a few hundred events: history stays small while early progress stays lively.
SIGNAL_EVERY_SECONDS = 1.0
SIGNAL_GAP_SHARE = 50
# How long a failing table step waits for its last counts to reach the run.
FLUSH_SECONDS = 10.0


class JobDirectory(JobConnections, Protocol):
    """What activities read from the metadata store."""

    def get_job(
        self, account_id: str, *, job_id: str | None = None, name: str | None = None
    ) -> job_pb2.Job: ...

    def transform_key(self, account_id: str, job_id: str) -> bytes: ...

    def hook_secret(self, account_id: str, job_id: str) -> bytes: ...


# Sends SetSyncProgress to (workflow id, run id); best effort, never blocks the copy: the
# future says when the signal landed, for the one caller that must wait.
ProgressSender = Callable[[str, str, sync_pb2.SetSyncProgressRequest], "futures.Future[None]"]


def last_checkpoint(details: Sequence[Any]) -> sync_pb2.TableCheckpoint | None:
    """The checkpoint an earlier attempt of this activity heartbeated, if any."""
    for detail in reversed(details):
        if isinstance(detail, sync_pb2.TableCheckpoint):
            return detail
    return None


class JobActivities:
    """The ports every table-writing activity class shares, and how it reaches the job's
    destinations through them."""

    def __init__(
        self, directory: JobDirectory, send_progress: ProgressSender, chunk_rows: int = CHUNK_ROWS
    ) -> None:
        self._directory = directory
        self._send_progress = send_progress
        self._chunk_rows = chunk_rows

    def _report_committed(
        self, committed: Sequence[tuple[str, int, sync_pb2.TableCheckpoint]]
    ) -> None:
        """Tell the run what each (table, part) keeps in the destinations as this attempt
        fails: a failed table then counts its committed rows, not those of the last progress
        signal. Waits a bounded while for the signals to land, so that their events come
        before the failure's."""
        info = activity.info()
        sent = [
            self._send_progress(
                info.workflow_id or "",
                info.workflow_run_id or "",
                sync_pb2.SetSyncProgressRequest(
                    table=sync_pb2.TableProgress(table=name), part=part, committed=checkpoint
                ),
            )
            for name, part, checkpoint in committed
        ]
        futures.wait(sent, timeout=FLUSH_SECONDS)

    def _keys(self, account_id: str, job_id: str) -> tuple[bytes, bytes]:
        """The job's transform key, and the key of this run's `random: true` transformers.
        The run is named by its workflow id, which continue-as-new and workflow retries keep
        (the run id changes with them), so every step of the run derives the same key."""
        key = self._directory.transform_key(account_id, job_id)
        return key, derive_run_key(key, activity.info().workflow_id or "")

    def _destinations(
        self, account_id: str, plans: list[sync_pb2.DestinationPlan]
    ) -> list[Destination]:
        return [
            Destination(
                open_database(self._directory.connection_url(account_id, p.connection_id)), p
            )
            for p in plans
        ]


class SyncActivities(JobActivities):
    def __init__(
        self,
        directory: JobDirectory,
        send_progress: ProgressSender,
        chunk_rows: int = CHUNK_ROWS,
        ml_task_queue: str = ML_TASK_QUEUE,
        privacy_report: bool = True,
        binary_copy: bool = True,
    ) -> None:
        super().__init__(directory, send_progress, chunk_rows)
        self._ml_task_queue = ml_task_queue
        # Off only where a benchmark measures what the report costs.
        self._privacy_report = privacy_report
        self._binary_copy = binary_copy

    @activity.defn(name=PLAN_SYNC_ACTIVITY.name)
    @domain_errors
    def plan_sync(self, request: sync_pb2.PlanSyncInput) -> sync_pb2.PlanSyncResult:
        account = request.account_id
        # User-defined transformers resolve to their saved configs here, at plan time, so a
        # run uses them as saved now and every later step sees built-in configs only.
        shape = read_shape(
            self._directory.get_job(account, job_id=request.job_id), account, self._directory
        )
        source, plan = shape.database, sync_plan(shape)
        check_source_privileges(source, plan)
        plan.ml_task_queue = self._ml_task_queue
        for table in plan.tables:
            # Never analyzed, subset, or synthesized as many rows as the source has: count
            # once, so progress has a true total.
            as_many = table.HasField("synthesize") and table.synthesize.row_count == 0
            if table.estimated_rows == 0 or table.where or as_many:
                table.estimated_rows = source.count(table.schema, table.name, table.where)
            if as_many:
                table.synthesize.row_count = table.estimated_rows
            parts = split_parts(table, shape.job.split_table_rows, plan.max_parallel_tables)
            if parts > 1:
                keys = source.split_keys(
                    table.schema,
                    table.name,
                    table.primary_key,
                    table.estimated_rows,
                    parts,
                    table.where,
                )
                table.split_keys.extend(sync_pb2.KeyValues(values=k) for k in keys)
        return sync_pb2.PlanSyncResult(plan=plan)

    @activity.defn(name=PREPARE_DESTINATIONS_ACTIVITY.name)
    @domain_errors
    def prepare_destinations(
        self, request: sync_pb2.PrepareDestinationsInput
    ) -> sync_pb2.PrepareDestinationsResult:
        plan, account = request.plan, request.account_id
        source = open_database(self._directory.connection_url(account, plan.source_connection_id))
        destinations = self._destinations(account, list(plan.destinations))
        created = prepare_destinations(source, destinations, plan)
        return sync_pb2.PrepareDestinationsResult(
            created_tables=[name for tables in created for name in tables],
            created=[sync_pb2.DestinationTables(tables=tables) for tables in created],
        )

    @activity.defn(name=SYNC_TABLE_ACTIVITY.name)
    @domain_errors
    def sync_table(self, request: sync_pb2.SyncTableInput) -> sync_pb2.SyncTableResult:
        account, table = request.account_id, request.table
        name = f"{table.schema}.{table.name}"
        info = activity.info()
        resume = last_checkpoint(info.heartbeat_details)

        started = last_signal = time.monotonic()
        committed = resumed_from(resume)

        def report(checkpoint: sync_pb2.TableCheckpoint, read: int, written: int) -> None:
            nonlocal last_signal, committed
            # Every heartbeat carries the last committed checkpoint: the server keeps only
            # the latest details, and a retry resumes from them.
            activity.heartbeat(checkpoint)
            committed = checkpoint
            now = time.monotonic()
            gap = max(SIGNAL_EVERY_SECONDS, (now - started) / SIGNAL_GAP_SHARE)
            if now - last_signal < gap:
                return  # each signal wakes the workflow: a quick table reports by its result
            last_signal = now
            progress = sync_pb2.TableProgress(table=name, rows_read=read, rows_written=written)
            self._send_progress(
                info.workflow_id or "",
                info.workflow_run_id or "",
                sync_pb2.SetSyncProgressRequest(
                    table=progress, part=request.range.index, committed=checkpoint
                ),
            )

        source, destinations = self._ends(
            account, request.source_connection_id, request.destinations
        )
        key, run_key = self._keys(account, request.job_id)
        try:
            result = copy_table(
                source,
                destinations,
                table,
                key,
                report,
                resume,
                self._chunk_rows,
                # An earlier attempt may have committed rows its heartbeats never reported
                # (throttled, or lost with its host's network): merge them, as sync_tables does.
                retrying=info.attempt > 1,
                part=request.range if request.HasField("range") else None,
                run_key=run_key,
                count_unchanged=self._privacy_report,
                binary_copy=self._binary_copy,
            )
        except Exception:
            self._report_committed([(name, request.range.index, committed)])
            raise
        record_table_copy(
            request.job_id, result.rows_read, result.rows_written, time.monotonic() - started
        )
        log.info(
            "copied %s part %d: %d rows read, %d written, %d resumed from attempt %d's checkpoint",
            name,
            request.range.index,
            result.rows_read,
            result.rows_written,
            result.rows_resumed,
            info.attempt - 1,
        )
        return sync_pb2.SyncTableResult(
            table=name,
            rows_read=result.rows_read,
            rows_written=result.rows_written,
            rows_resumed=result.rows_resumed,
            rows_skipped=result.rows_skipped,
            unchanged=result.unchanged,
        )

    @activity.defn(name=SYNC_TABLES_ACTIVITY.name)
    @domain_errors
    def sync_tables(self, request: sync_pb2.SyncTablesInput) -> sync_pb2.SyncTablesResult:
        """Small tables one after the other over the same ports. A retry skips the tables an
        earlier attempt reported done, and skips rows already there in the others (a finished
        table's report may have been lost with its worker)."""
        info = activity.info()
        checkpoint = sync_pb2.TableGroupCheckpoint()
        for detail in info.heartbeat_details:
            if isinstance(detail, sync_pb2.TableGroupCheckpoint):
                checkpoint.CopyFrom(detail)
        if request.tables and request.tables[0].load_group:
            checkpoint.Clear()  # a load group commits as one: a retry writes all of it again
        done = {result.table: result for result in checkpoint.done}
        account = request.account_id
        source, destinations = self._ends(
            account, request.source_connection_id, request.destinations
        )
        key, run_key = self._keys(account, request.job_id)
        committed = sync_pb2.TableCheckpoint()  # the last commit of the table being copied

        def report(chunk: sync_pb2.TableCheckpoint, *_: int) -> None:
            nonlocal committed
            committed = chunk
            activity.heartbeat(checkpoint)

        with (
            sharing_connections([source, *(d.database for d in destinations)]),
            relaxed_loads(destinations, request.tables),
        ):
            for table in request.tables:
                name = f"{table.schema}.{table.name}"
                if name in done:
                    continue
                committed = sync_pb2.TableCheckpoint()
                started = time.monotonic()
                try:
                    result = copy_table(
                        source,
                        destinations,
                        table,
                        key,
                        report,
                        chunk_rows=self._chunk_rows,
                        retrying=info.attempt > 1,
                        run_key=run_key,
                        count_unchanged=self._privacy_report,
                        binary_copy=self._binary_copy,
                    )
                except Exception:
                    # The tables finished before this one stay written, and so do the chunks
                    # of this one that were committed; a load group keeps nothing.
                    if not table.load_group:
                        self._report_committed(
                            [
                                *((r.table, 0, _committed(r)) for r in checkpoint.done),
                                (name, 0, committed),
                            ]
                        )
                    raise
                record_table_copy(
                    request.job_id,
                    result.rows_read,
                    result.rows_written,
                    time.monotonic() - started,
                )
                checkpoint.done.add(
                    table=name,
                    rows_read=result.rows_read,
                    rows_written=result.rows_written,
                    rows_skipped=result.rows_skipped,
                    unchanged=result.unchanged,
                )
                activity.heartbeat(checkpoint)
        return sync_pb2.SyncTablesResult(tables=checkpoint.done)

    @activity.defn(name=FILL_DEFERRED_COLUMNS_ACTIVITY.name)
    @domain_errors
    def fill_deferred_columns(
        self, request: sync_pb2.FillDeferredColumnsInput
    ) -> sync_pb2.FillDeferredColumnsResult:
        inner = request.table
        account = inner.account_id
        source, destinations = self._ends(account, inner.source_connection_id, inner.destinations)
        updated = fill_deferred_columns(
            source,
            destinations,
            inner.table,
            *self._keys(account, inner.job_id),
        )
        return sync_pb2.FillDeferredColumnsResult(rows_updated=updated)

    def _ends(
        self,
        account_id: str,
        source_connection_id: str,
        destinations: Sequence[sync_pb2.DestinationPlan],
    ) -> tuple[Database, list[Destination]]:
        """A step's source and destinations, opened from the store's connections."""
        source = open_database(self._directory.connection_url(account_id, source_connection_id))
        return source, self._destinations(account_id, list(destinations))

    @activity.defn(name=VERIFY_DESTINATIONS_ACTIVITY.name)
    @domain_errors
    def verify_destinations(
        self, request: sync_pb2.VerifyDestinationsInput
    ) -> sync_pb2.VerifyDestinationsResult:
        plan = request.plan
        source, destinations = self._ends(
            request.account_id, plan.source_connection_id, plan.destinations
        )
        created = [set(d.tables) for d in request.prepared.created]
        verification = verify_run(
            source,
            destinations,
            plan,
            request.progress,
            created,
            activity.heartbeat,
            privacy=self._privacy_report,
        )
        return sync_pb2.VerifyDestinationsResult(verification=verification)

    @activity.defn(name=FINISH_DESTINATIONS_ACTIVITY.name)
    @domain_errors
    def finish_destinations(
        self, request: sync_pb2.FinishDestinationsInput
    ) -> sync_pb2.FinishDestinationsResult:
        plan = request.plan
        source, destinations = self._ends(
            request.account_id, plan.source_connection_id, plan.destinations
        )
        reset = finish_destinations(source, destinations, plan)
        return sync_pb2.FinishDestinationsResult(reset_sequences=reset)

    def all(self) -> list[Callable[..., object]]:
        return [
            self.plan_sync,
            self.prepare_destinations,
            self.sync_table,
            self.sync_tables,
            self.fill_deferred_columns,
            self.finish_destinations,
            self.verify_destinations,
        ]


def _committed(result: sync_pb2.SyncTableResult) -> sync_pb2.TableCheckpoint:
    """A finished table's counts, as what its destinations keep."""
    return sync_pb2.TableCheckpoint(
        rows_read=result.rows_read,
        rows_written=result.rows_written,
        rows_skipped=result.rows_skipped,
    )
