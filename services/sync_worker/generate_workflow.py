"""GenerateWorkflow: plans a generate run, readies the destinations, fills tables in foreign-key
order with bounded parallelism, fills deferred references, finishes the destinations, and
reports progress as DataSyncWorkflow does. Deterministic: contracts only, no I/O."""

import asyncio
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from services.common import contract
    from veilsync.temporal.v1 import generate_pb2, sync_pb2
    from veilsync.v1 import job_pb2

T = TypeVar("T")
SHORT = timedelta(minutes=10)
TABLE = timedelta(hours=12)
HEARTBEAT = timedelta(minutes=2)
MAX_ATTEMPTS = 5


def _cause(err: ActivityError) -> str:
    cause: BaseException = err
    while isinstance(cause, FailureError) and cause.cause is not None:
        cause = cause.cause
    return cause.message if isinstance(cause, FailureError) else str(cause)


@workflow.defn(name=contract.GENERATE_WORKFLOW)
class GenerateWorkflow:
    def __init__(self) -> None:
        self._progress = sync_pb2.SyncProgress()
        self._tables: dict[str, sync_pb2.TableProgress] = {}
        self._options = job_pb2.RunOptions()
        self._has_hooks: bool | None = None

    @workflow.run
    async def run(
        self, request: generate_pb2.GenerateWorkflowInput
    ) -> generate_pb2.GenerateWorkflowResult:
        """The generation, then the job's run hooks told how it ended."""
        try:
            result = await self._generate(request)
        except ApplicationError as err:
            if self._has_hooks is not False:
                await self._hooks(request, job_pb2.RUN_STATUS_FAILED, err.message)
            raise
        if self._has_hooks:
            await self._hooks(request, job_pb2.RUN_STATUS_SUCCEEDED, "", result)
        return result

    async def _generate(
        self, request: generate_pb2.GenerateWorkflowInput
    ) -> generate_pb2.GenerateWorkflowResult:
        self._progress.start_time.FromDatetime(workflow.now())
        self._options = request.run_options
        ids = {"job_id": request.job_id, "account_id": request.account_id}
        planned = await self._activity(
            "plan_generate",
            generate_pb2.PlanGenerateInput(**ids),
            generate_pb2.PlanGenerateResult,
            "planning",
        )
        plan = planned.plan
        self._has_hooks = plan.sync.has_hooks
        inputs: dict[str, generate_pb2.GenerateTableInput] = {}
        for table, generation in zip(plan.sync.tables, plan.tables, strict=True):
            self._tables[generation.table] = self._progress.tables.add(
                table=generation.table,
                status=job_pb2.TABLE_SYNC_STATUS_PENDING,
                rows_total=generation.rows,
            )
            inputs[generation.table] = generate_pb2.GenerateTableInput(
                **ids, destinations=plan.sync.destinations, table=table, generation=generation
            )
        await self._activity(
            "prepare_destinations",
            sync_pb2.PrepareDestinationsInput(**ids, plan=plan.sync),
            sync_pb2.PrepareDestinationsResult,
            "preparing the destinations",
        )
        await self._fill_tables(plan.sync, inputs)
        await asyncio.gather(
            *(
                self._activity(
                    "fill_generated_references",
                    generate_pb2.FillGeneratedReferencesInput(table=inputs[name]),
                    generate_pb2.FillGeneratedReferencesResult,
                    f"filling the deferred references of {name}",
                    table=True,
                )
                for name, request_ in inputs.items()
                if request_.table.deferred_columns and request_.generation.rows
            )
        )
        await self._activity(
            "finish_destinations",
            sync_pb2.FinishDestinationsInput(**ids, plan=plan.sync),
            sync_pb2.FinishDestinationsResult,
            "finishing the destinations",
        )
        self._progress.end_time.FromDatetime(workflow.now())
        return generate_pb2.GenerateWorkflowResult(
            progress=self._progress,
            rows_generated=sum(t.rows_read for t in self._progress.tables),
            rows_written=sum(t.rows_written for t in self._progress.tables),
        )

    async def _fill_tables(
        self, plan: sync_pb2.SyncPlan, inputs: dict[str, generate_pb2.GenerateTableInput]
    ) -> None:
        """Each table once its parents are filled, at most max_parallel_tables at a time."""
        waiting = {name: set(i.table.depends_on) & set(inputs) for name, i in inputs.items()}
        done: set[str] = set()
        running: dict[str, asyncio.Task[None]] = {}
        limit = max(plan.max_parallel_tables, 1)
        while waiting or running:
            for name in [n for n, deps in waiting.items() if deps <= done]:
                if len(running) >= limit:
                    break
                del waiting[name]
                running[name] = asyncio.create_task(self._fill_table(inputs[name]))
            if not running:
                raise ApplicationError(
                    f"tables {sorted(waiting)} wait on each other", non_retryable=True
                )
            finished, _ = await workflow.wait(
                list(running.values()), return_when=asyncio.FIRST_COMPLETED
            )
            for name, task in list(running.items()):
                if task in finished:
                    del running[name]
                    if task.exception() is not None:
                        for other in running.values():
                            other.cancel()
                        task.result()
                    done.add(name)

    async def _fill_table(self, request: generate_pb2.GenerateTableInput) -> None:
        progress = self._tables[request.generation.table]
        progress.status = job_pb2.TABLE_SYNC_STATUS_RUNNING
        progress.start_time.FromDatetime(workflow.now())
        try:
            result = await self._activity(
                "generate_table",
                request,
                generate_pb2.GenerateTableResult,
                f"generating {progress.table}",
                table=True,
            )
        except BaseException:
            progress.status = job_pb2.TABLE_SYNC_STATUS_FAILED
            raise
        progress.status = job_pb2.TABLE_SYNC_STATUS_SUCCEEDED
        progress.rows_read = result.rows_generated
        progress.rows_written = result.rows_written
        progress.rows_total = result.rows_generated
        progress.rows_resumed = result.rows_resumed
        progress.end_time.FromDatetime(workflow.now())

    async def _activity(
        self, name: str, request: object, result_type: type[T], step: str, table: bool = False
    ) -> T:
        options = self._options
        timeout, heartbeat = SHORT, None
        if table:
            timeout = (
                options.table_timeout.ToTimedelta() if options.HasField("table_timeout") else TABLE
            )
            heartbeat = (
                options.table_heartbeat_timeout.ToTimedelta()
                if options.HasField("table_heartbeat_timeout")
                else HEARTBEAT
            )
        attempts = (
            options.activity_max_attempts
            if options.HasField("activity_max_attempts")
            else MAX_ATTEMPTS
        )
        try:
            result: T = await workflow.execute_activity(
                name,
                request,
                result_type=result_type,
                start_to_close_timeout=timeout,
                heartbeat_timeout=heartbeat,
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1),
                    maximum_interval=timedelta(minutes=1),
                    maximum_attempts=attempts,
                ),
            )
            return result
        except ActivityError as err:
            raise ApplicationError(
                f"{step} failed: {_cause(err)}", type="GenerateFailed", non_retryable=True
            ) from err

    async def _hooks(
        self,
        request: generate_pb2.GenerateWorkflowInput,
        status: "job_pb2.RunStatus.ValueType",
        failure: str,
        result: generate_pb2.GenerateWorkflowResult | None = None,
    ) -> None:
        hooks = sync_pb2.DeliverRunHooksInput(
            job_id=request.job_id,
            account_id=request.account_id,
            run_id=workflow.info().workflow_id,
            status=status,
            failure_message=failure,
            rows_read=result.rows_generated if result else 0,
            rows_written=result.rows_written if result else 0,
        )
        try:
            await workflow.execute_activity(
                "deliver_run_hooks",
                hooks,
                result_type=sync_pb2.DeliverRunHooksResult,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=RetryPolicy(maximum_attempts=10),
            )
        except ActivityError as err:
            workflow.logger.warning("run hooks not delivered: %s", _cause(err))

    @workflow.signal(name=contract.SET_SYNC_PROGRESS_SIGNAL)
    def set_progress(self, request: sync_pb2.SetSyncProgressRequest) -> None:
        """Counts only grow, and a finished table keeps its exact final counts."""
        progress = self._tables.get(request.table.table)
        if progress is None or progress.status != job_pb2.TABLE_SYNC_STATUS_RUNNING:
            return
        update = request.table
        progress.rows_read = max(progress.rows_read, update.rows_read)
        progress.rows_written = max(progress.rows_written, update.rows_written)
        progress.rows_total = max(progress.rows_total, progress.rows_read)

    @workflow.query(name=contract.GET_SYNC_PROGRESS_QUERY)
    def get_progress(
        self, request: sync_pb2.GetSyncProgressRequest
    ) -> sync_pb2.GetSyncProgressResponse:
        return sync_pb2.GetSyncProgressResponse(progress=self._progress)
