"""GenerateWorkflow: plans a generate run, readies the destinations, fills tables in foreign-key
order with bounded parallelism, fills deferred references, finishes the destinations, and
reports progress as DataSyncWorkflow does. Deterministic: contracts only, no I/O."""

import asyncio

from temporalio import workflow

from services.sync_worker.table_run import TableRun

with workflow.unsafe.imports_passed_through():
    from services.contract.sync_worker_temporal import (
        FILL_GENERATED_REFERENCES_ACTIVITY,
        FINISH_DESTINATIONS_ACTIVITY,
        GENERATE_TABLE_ACTIVITY,
        GENERATE_WORKFLOW,
        PLAN_GENERATE_ACTIVITY,
        PREPARE_DESTINATIONS_ACTIVITY,
    )
    from veilsync.temporal.v1 import generate_pb2, sync_pb2
    from veilsync.v1 import job_pb2


@workflow.defn(name=GENERATE_WORKFLOW.name)
class GenerateWorkflow(TableRun):
    failure_type = "GenerateFailed"
    run_kind = "generate"

    @workflow.run
    async def run(
        self, request: generate_pb2.GenerateWorkflowInput
    ) -> generate_pb2.GenerateWorkflowResult:
        return await self._with_hooks(
            request.job_id,
            request.account_id,
            self._generate(request),
            lambda result: (result.rows_generated, result.rows_written),
        )

    async def _generate(
        self, request: generate_pb2.GenerateWorkflowInput
    ) -> generate_pb2.GenerateWorkflowResult:
        self._progress.start_time.FromDatetime(workflow.now())
        self._options = request.run_options
        ids = {"job_id": request.job_id, "account_id": request.account_id}
        planned = await self._activity(
            PLAN_GENERATE_ACTIVITY, generate_pb2.PlanGenerateInput(**ids), "planning"
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
            PREPARE_DESTINATIONS_ACTIVITY,
            sync_pb2.PrepareDestinationsInput(**ids, plan=plan.sync),
            "preparing the destinations",
        )
        await self._fill_tables(plan.sync, inputs)
        await asyncio.gather(
            *(
                self._activity(
                    FILL_GENERATED_REFERENCES_ACTIVITY,
                    generate_pb2.FillGeneratedReferencesInput(table=inputs[name]),
                    f"filling the deferred references of {name}",
                    table=True,
                )
                for name, request_ in inputs.items()
                if request_.table.deferred_columns and request_.generation.rows
            )
        )
        await self._activity(
            FINISH_DESTINATIONS_ACTIVITY,
            sync_pb2.FinishDestinationsInput(**ids, plan=plan.sync),
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
        await self._in_dependency_order(
            {name: set(i.table.depends_on) & set(inputs) for name, i in inputs.items()},
            plan.max_parallel_tables,
            lambda ready, free: [(name,) for name in ready[: max(free, 0)]],
            lambda unit: self._fill_table(inputs[unit[0]]),
        )

    async def _fill_table(self, request: generate_pb2.GenerateTableInput) -> None:
        progress = self._tables[request.generation.table]
        self._started(progress)
        try:
            result = await self._activity(
                GENERATE_TABLE_ACTIVITY,
                request,
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
