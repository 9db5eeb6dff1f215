"""DataSyncWorkflow: plans a run, copies tables in foreign-key order with bounded parallelism,
fills deferred columns, finishes the destinations. Deterministic: contracts only, no I/O."""

import asyncio

from temporalio import workflow

from services.sync_worker.synthesis import synthesize_table
from services.sync_worker.table_run import TableRun

with workflow.unsafe.imports_passed_through():
    from services.common import contract
    from veilsync.temporal.v1 import sync_pb2
    from veilsync.v1 import job_pb2

# Tables this small share activities: their copy costs less than scheduling one.
SMALL_TABLE_ROWS = 20_000


@workflow.defn(name=contract.DATA_SYNC_WORKFLOW)
class DataSyncWorkflow(TableRun):
    def __init__(self) -> None:
        super().__init__()
        self._ml_task_queue = contract.ML_TASK_QUEUE

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
        self._progress.start_time.FromDatetime(workflow.now())
        self._options = request.run_options
        ids = {"job_id": request.job_id, "account_id": request.account_id}
        plan = (
            await self._activity(
                "plan_sync", sync_pb2.PlanSyncInput(**ids), sync_pb2.PlanSyncResult, "planning"
            )
        ).plan
        self._has_hooks = plan.has_hooks
        self._ml_task_queue = plan.ml_task_queue or self._ml_task_queue
        for table in plan.tables:
            progress = self._progress.tables.add(
                table=_qualified(table),
                status=job_pb2.TABLE_SYNC_STATUS_PENDING,
                rows_total=table.estimated_rows,
            )
            self._tables[progress.table] = progress
        await self._activity(
            "prepare_destinations",
            sync_pb2.PrepareDestinationsInput(**ids, plan=plan),
            sync_pb2.PrepareDestinationsResult,
            "preparing the destinations",
        )
        inputs = {
            _qualified(t): sync_pb2.SyncTableInput(
                **ids,
                source_connection_id=plan.source_connection_id,
                destinations=plan.destinations,
                table=t,
            )
            for t in plan.tables
        }
        await self._copy_tables(plan, inputs)
        await asyncio.gather(
            *(
                self._activity(
                    "fill_deferred_columns",
                    sync_pb2.FillDeferredColumnsInput(table=inputs[_qualified(t)]),
                    sync_pb2.FillDeferredColumnsResult,
                    f"filling the deferred columns of {_qualified(t)}",
                    table=True,
                )
                for t in plan.tables
                if t.deferred_columns and not t.HasField("synthesize")
            )
        )
        await self._activity(
            "finish_destinations",
            sync_pb2.FinishDestinationsInput(**ids, plan=plan),
            sync_pb2.FinishDestinationsResult,
            "finishing the destinations",
        )
        self._progress.end_time.FromDatetime(workflow.now())
        return sync_pb2.DataSyncWorkflowResult(
            progress=self._progress,
            rows_read=sum(t.rows_read for t in self._progress.tables),
            rows_written=sum(t.rows_written for t in self._progress.tables),
        )

    async def _copy_tables(
        self, plan: sync_pb2.SyncPlan, inputs: dict[str, sync_pb2.SyncTableInput]
    ) -> None:
        """Start each table once the tables it depends on are written, at most
        max_parallel_tables at a time; the first failure fails the run."""
        await self._in_dependency_order(
            {_qualified(t): set(t.depends_on) & set(inputs) for t in plan.tables},
            plan.max_parallel_tables,
            lambda ready, free: _units(ready, inputs, free),
            lambda unit: self._copy_unit(unit, inputs),
        )

    async def _copy_unit(
        self, unit: tuple[str, ...], inputs: dict[str, sync_pb2.SyncTableInput]
    ) -> None:
        """One table in its own activity, or small tables sharing one."""
        if len(unit) == 1:
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
                "sync_tables",
                request,
                sync_pb2.SyncTablesResult,
                f"copying {', '.join(unit)}",
                table=True,
            )
        except BaseException:
            for name in unit:
                self._tables[name].status = job_pb2.TABLE_SYNC_STATUS_FAILED
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
                result = await self._activity(
                    "sync_table",
                    request,
                    sync_pb2.SyncTableResult,
                    f"copying {progress.table}",
                    table=True,
                )
        except BaseException:
            progress.status = job_pb2.TABLE_SYNC_STATUS_FAILED
            raise
        self._finished(progress, result)

    def _finished(self, progress: sync_pb2.TableProgress, result: sync_pb2.SyncTableResult) -> None:
        progress.status = job_pb2.TABLE_SYNC_STATUS_SUCCEEDED
        progress.rows_read = result.rows_read
        progress.rows_written = result.rows_written
        progress.rows_total = result.rows_read
        progress.rows_resumed = result.rows_resumed
        progress.rows_skipped = result.rows_skipped
        progress.end_time.FromDatetime(workflow.now())


def _units(
    ready: list[str], inputs: dict[str, sync_pb2.SyncTableInput], free: int
) -> list[tuple[str, ...]]:
    """What to start in `free` slots: a table in its own activity, or small tables spread
    over the slots left, so an activity's fixed cost is paid once per group, not per table."""
    alone = [n for n in ready if not _small(inputs[n].table)][: max(free, 0)]
    units: list[tuple[str, ...]] = [(name,) for name in alone]
    small = [n for n in ready if _small(inputs[n].table)]
    slots = min(free - len(units), len(small))
    if slots > 0:
        size = -(-len(small) // slots)
        units += [tuple(small[i : i + size]) for i in range(0, len(small), size)]
    return units


def _small(table: sync_pb2.TablePlan) -> bool:
    return table.estimated_rows <= SMALL_TABLE_ROWS and not table.HasField("synthesize")


def _qualified(table: sync_pb2.TablePlan) -> str:
    return f"{table.schema}.{table.name}"
