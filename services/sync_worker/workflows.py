"""DataSyncWorkflow: plans a run, copies tables in foreign-key order with bounded parallelism,
fills deferred columns, finishes the destinations and verifies what it wrote. Deterministic:
contracts only, no I/O."""

import asyncio
import itertools

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from services.sync_worker.synthesis import synthesize_table
from services.sync_worker.table_run import TableRun

with workflow.unsafe.imports_passed_through():
    from services.contract.ml_worker_temporal import ML_TASK_QUEUE
    from services.contract.sync_worker_temporal import (
        DATA_SYNC_WORKFLOW,
        FILL_DEFERRED_COLUMNS_ACTIVITY,
        FINISH_DESTINATIONS_ACTIVITY,
        PLAN_SYNC_ACTIVITY,
        PREPARE_DESTINATIONS_ACTIVITY,
        SYNC_TABLE_ACTIVITY,
        SYNC_TABLES_ACTIVITY,
        VERIFY_DESTINATIONS_ACTIVITY,
    )
    from veilsync.temporal.v1 import sync_pb2
    from veilsync.v1 import job_pb2

# Tables this small share activities: their copy costs less than scheduling one.
SMALL_TABLE_ROWS = 20_000
# Runs from before this change finish without the verification step they never scheduled.
VERIFY_PATCH = "verify-destinations"


@workflow.defn(name=DATA_SYNC_WORKFLOW.name)
class DataSyncWorkflow(TableRun):
    def __init__(self) -> None:
        super().__init__()
        self._ml_task_queue = ML_TASK_QUEUE
        self._prepared = sync_pb2.PrepareDestinationsResult()

    @workflow.run
    async def run(self, request: sync_pb2.DataSyncWorkflowInput) -> sync_pb2.DataSyncWorkflowResult:
        return await self._with_hooks(
            request.job_id,
            request.account_id,
            self._sync(request),
            lambda result: (result.rows_read, result.rows_written),
        )

    async def _sync(
        self, request: sync_pb2.DataSyncWorkflowInput
    ) -> sync_pb2.DataSyncWorkflowResult:
        self._options = request.run_options
        if request.HasField("continuation"):
            plan = request.continuation.plan
            self._progress.CopyFrom(request.continuation.progress)
            self._prepared.CopyFrom(request.continuation.prepared)
        else:
            plan = await self._prepare(request)
        self._tables = {t.table: t for t in self._progress.tables}
        self._has_hooks = plan.has_hooks
        self._ml_task_queue = plan.ml_task_queue or self._ml_task_queue
        inputs = {
            _qualified(t): sync_pb2.SyncTableInput(
                job_id=request.job_id,
                account_id=request.account_id,
                source_connection_id=plan.source_connection_id,
                destinations=plan.destinations,
                table=t,
            )
            for t in plan.tables
        }
        if not await self._copy_tables(plan, inputs, request.max_history_events):
            # History is long: the next run goes on from the tables written so far.
            workflow.continue_as_new(
                sync_pb2.DataSyncWorkflowInput(
                    job_id=request.job_id,
                    account_id=request.account_id,
                    run_options=request.run_options,
                    continuation=sync_pb2.SyncContinuation(
                        plan=plan, progress=self._progress, prepared=self._prepared
                    ),
                    max_history_events=request.max_history_events,
                )
            )
        await asyncio.gather(
            *(
                self._activity(
                    FILL_DEFERRED_COLUMNS_ACTIVITY,
                    sync_pb2.FillDeferredColumnsInput(table=inputs[_qualified(t)]),
                    f"filling the deferred columns of {_qualified(t)}",
                    table=True,
                )
                for t in plan.tables
                if t.deferred_columns and not t.HasField("synthesize")
            )
        )
        await self._activity(
            FINISH_DESTINATIONS_ACTIVITY,
            sync_pb2.FinishDestinationsInput(
                job_id=request.job_id, account_id=request.account_id, plan=plan
            ),
            "finishing the destinations",
        )
        verification = None
        if workflow.patched(VERIFY_PATCH):
            verification = await self._verify(request, plan)
        self._progress.end_time.FromDatetime(workflow.now())
        return sync_pb2.DataSyncWorkflowResult(
            progress=self._progress,
            rows_read=sum(t.rows_read for t in self._progress.tables),
            rows_written=sum(t.rows_written for t in self._progress.tables),
            verification=verification,
        )

    async def _verify(
        self, request: sync_pb2.DataSyncWorkflowInput, plan: sync_pb2.SyncPlan
    ) -> job_pb2.RunVerification:
        """The run's check of what it wrote; a failed check fails the run, the verification
        in the failure's details for the API to show."""
        verification = (
            await self._activity(
                VERIFY_DESTINATIONS_ACTIVITY,
                sync_pb2.VerifyDestinationsInput(
                    job_id=request.job_id,
                    account_id=request.account_id,
                    plan=plan,
                    progress=self._progress,
                    prepared=self._prepared,
                ),
                "verifying the destinations",
                table=True,  # counts over whole tables: a table step's time, heartbeating
            )
        ).verification
        if verification.failures:
            raise ApplicationError(
                "verification failed: " + "; ".join(verification.failures),
                verification,
                type="VerificationFailed",
                non_retryable=True,
            )
        return verification

    async def _prepare(self, request: sync_pb2.DataSyncWorkflowInput) -> sync_pb2.SyncPlan:
        """Plan the run and ready its destinations; every table pending."""
        self._progress.start_time.FromDatetime(workflow.now())
        ids = {"job_id": request.job_id, "account_id": request.account_id}
        plan = (
            await self._activity(PLAN_SYNC_ACTIVITY, sync_pb2.PlanSyncInput(**ids), "planning")
        ).plan
        for table in plan.tables:
            self._progress.tables.add(
                table=_qualified(table),
                status=job_pb2.TABLE_SYNC_STATUS_PENDING,
                rows_total=table.estimated_rows,
            )
        self._prepared = await self._activity(
            PREPARE_DESTINATIONS_ACTIVITY,
            sync_pb2.PrepareDestinationsInput(**ids, plan=plan),
            "preparing the destinations",
        )
        return plan

    async def _copy_tables(
        self,
        plan: sync_pb2.SyncPlan,
        inputs: dict[str, sync_pb2.SyncTableInput],
        max_history_events: int,
    ) -> bool:
        """Start each table once the tables it depends on are written, at most
        max_parallel_tables at a time; the first failure fails the run. Once the history is
        long, no table starts: returns False when tables are left for a continued run."""

        def history_full() -> bool:
            """Time to continue as new; never before this run has started a table, so every
            run makes progress however low the limit."""
            info = workflow.info()
            if not self._tables_started:
                return False
            if max_history_events and info.get_current_history_length() >= max_history_events:
                return True
            return info.is_continue_as_new_suggested()

        succeeded = job_pb2.TABLE_SYNC_STATUS_SUCCEEDED
        written = {t.table for t in self._progress.tables if t.status == succeeded}
        return await self._in_dependency_order(
            {_qualified(t): set(t.depends_on) & set(inputs) for t in plan.tables},
            plan.max_parallel_tables,
            lambda ready, free: _units(ready, inputs, free),
            lambda unit: self._copy_unit(unit, inputs),
            done=written,
            pause=history_full,
        )

    async def _copy_unit(
        self, unit: tuple[str, ...], inputs: dict[str, sync_pb2.SyncTableInput]
    ) -> None:
        """One table in its own activity, or small tables (or a load group) sharing one."""
        if len(unit) == 1 and not inputs[unit[0]].table.load_group:
            await self._copy_table(inputs[unit[0]])
            return
        first = inputs[unit[0]]
        request = sync_pb2.SyncTablesInput(
            job_id=first.job_id,
            account_id=first.account_id,
            source_connection_id=first.source_connection_id,
            destinations=first.destinations,
            tables=[inputs[name].table for name in unit],
        )
        for name in unit:
            self._started(self._tables[name])
        try:
            result = await self._activity(
                SYNC_TABLES_ACTIVITY,
                request,
                f"copying {', '.join(unit)}",
                table=True,
            )
        except BaseException:
            for name in unit:
                self._failed(self._tables[name])
            raise
        for table in result.tables:
            self._finished(self._tables[table.table], table)

    async def _copy_table(self, request: sync_pb2.SyncTableInput) -> None:
        progress = self._tables[_qualified(request.table)]
        self._started(progress)
        try:
            if request.table.HasField("synthesize"):
                result = await synthesize_table(
                    request, self._ml_task_queue, self._table_heartbeat(), progress
                )
            else:
                result = await self._copy_parts(request, progress.table)
        except BaseException:
            # A synthesized table's counts are its samples' own, written whole or not at all.
            self._failed(progress, committed_counts=not request.table.HasField("synthesize"))
            raise
        self._finished(progress, result)

    async def _copy_parts(
        self, request: sync_pb2.SyncTableInput, name: str
    ) -> sync_pb2.SyncTableResult:
        """The table whole, or its key ranges by parallel activities, results summed."""
        ranges = _key_ranges(request.table)
        requests = []
        for part in ranges:
            requests.append(sync_pb2.SyncTableInput())
            requests[-1].CopyFrom(request)
            if len(ranges) > 1:
                requests[-1].range.CopyFrom(part)
        results = await asyncio.gather(
            *(
                self._activity(
                    SYNC_TABLE_ACTIVITY,
                    part_request,
                    f"copying {name}" + (f" part {i + 1}/{len(ranges)}" if len(ranges) > 1 else ""),
                    table=True,
                )
                for i, part_request in enumerate(requests)
            )
        )
        return sync_pb2.SyncTableResult(
            table=name,
            rows_read=sum(r.rows_read for r in results),
            rows_written=sum(r.rows_written for r in results),
            rows_resumed=sum(r.rows_resumed for r in results),
            rows_skipped=sum(r.rows_skipped for r in results),
            unchanged=_sum_unchanged(results),
        )

    def _finished(self, progress: sync_pb2.TableProgress, result: sync_pb2.SyncTableResult) -> None:
        progress.status = job_pb2.TABLE_SYNC_STATUS_SUCCEEDED
        progress.rows_read = result.rows_read
        progress.rows_written = result.rows_written
        progress.rows_total = result.rows_read
        progress.rows_resumed = result.rows_resumed
        progress.rows_skipped = result.rows_skipped
        del progress.unchanged[:]
        progress.unchanged.extend(result.unchanged)
        progress.end_time.FromDatetime(workflow.now())


def _units(
    ready: list[str], inputs: dict[str, sync_pb2.SyncTableInput], free: int
) -> list[tuple[str, ...]]:
    """What to start in `free` slots: the tables of a load group in one activity (they are
    written as one), a table in its own, or small tables spread over the slots left, so an
    activity's fixed cost is paid once per group, not per table."""
    groups: dict[str, list[str]] = {}
    for name in ready:
        if inputs[name].table.load_group:
            groups.setdefault(inputs[name].table.load_group, []).append(name)
    units: list[tuple[str, ...]] = [tuple(names) for names in groups.values()][: max(free, 0)]
    ready = [n for n in ready if not inputs[n].table.load_group]
    alone = [n for n in ready if not _small(inputs[n].table)][: max(free - len(units), 0)]
    units += [(name,) for name in alone]
    small = [n for n in ready if _small(inputs[n].table)]
    slots = min(free - len(units), len(small))
    if slots > 0:
        size = -(-len(small) // slots)
        units += [tuple(small[i : i + size]) for i in range(0, len(small), size)]
    return units


def _key_ranges(table: sync_pb2.TablePlan) -> list[sync_pb2.KeyRange]:
    """The table's parts: key ranges between consecutive split keys, open at both ends."""
    bounds: list[sync_pb2.KeyValues | None] = [None, *table.split_keys, None]
    return [
        sync_pb2.KeyRange(index=index, after=after, until=until)
        for index, (after, until) in enumerate(itertools.pairwise(bounds))
    ]


def _sum_unchanged(results: list[sync_pb2.SyncTableResult]) -> list[sync_pb2.ColumnUnchanged]:
    """A table's unchanged-value counts: its parts', column by column."""
    totals: dict[str, sync_pb2.ColumnUnchanged] = {}
    for result in results:
        for counted in result.unchanged:
            total = totals.setdefault(
                counted.column, sync_pb2.ColumnUnchanged(column=counted.column)
            )
            total.unchanged += counted.unchanged
            total.compared += counted.compared
    return list(totals.values())


def _small(table: sync_pb2.TablePlan) -> bool:
    return (
        table.estimated_rows <= SMALL_TABLE_ROWS
        and not table.HasField("synthesize")
        and not table.split_keys
    )


def _qualified(table: sync_pb2.TablePlan) -> str:
    return f"{table.schema}.{table.name}"
