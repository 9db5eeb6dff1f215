"""A synthesized table of a sync run, as child workflows on the ML task queue: get or train
the model (TrainModelWorkflow), then sample it into each destination (SampleModelWorkflow).
Workflow code: deterministic, contracts only."""

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError, ChildWorkflowError

from services.sync_worker.table_run import cause

with workflow.unsafe.imports_passed_through():
    from services.common import ml_contract
    from veilsync.temporal.v1 import ml_pb2, sync_pb2
    from veilsync.v1 import model_pb2


async def synthesize_table(
    request: sync_pb2.SyncTableInput,
    ml_task_queue: str,
    heartbeat: timedelta | None,
    progress: sync_pb2.TableProgress,
) -> sync_pb2.SyncTableResult:
    """Rows sampled into every destination; the foreign keys point at destination rows."""
    table, plan = request.table, request.table.synthesize
    name = f"{table.schema}.{table.name}"
    model_id = str(workflow.uuid4())
    train = ml_pb2.TrainModelWorkflowInput(
        account_id=request.account_id,
        model_id=model_id,
        model_name=plan.model,
        source_connection_id=request.source_connection_id,
        schema=table.schema,
        table=table.name,
        kind=plan.kind,
        options=plan.options,
        transformers=[
            model_pb2.ColumnTransformer(column=c.name, transformer=c.transformer)
            for c in table.columns
            if c.HasField("transformer")
        ],
    )
    if heartbeat is not None:
        train.heartbeat_timeout.FromTimedelta(heartbeat)
    try:
        trained = await workflow.execute_child_workflow(
            ml_contract.TRAIN_MODEL_WORKFLOW,
            train,
            id=ml_contract.train_workflow_id(model_id),
            task_queue=ml_task_queue,
            result_type=ml_pb2.TrainModelWorkflowResult,
        )
        # The run reports how faithful and how private the model is, reused or just trained.
        if trained.HasField("evaluation"):
            progress.model_evaluation.CopyFrom(trained.evaluation)
        written = 0
        for index, destination in enumerate(request.destinations):
            sample = ml_pb2.SampleModelWorkflowInput(
                account_id=request.account_id,
                model_id=trained.model_id,
                destination_connection_id=destination.connection_id,
                schema=table.schema,
                table=table.name,
                row_count=plan.row_count,
                seed=plan.seed,
                references=[
                    r for r in plan.references if not set(r.columns) & set(table.deferred_columns)
                ],
                # Their parents may not be written yet (a cycle): left NULL, never dangling.
                null_columns=table.deferred_columns,
            )
            if heartbeat is not None:
                sample.heartbeat_timeout.FromTimedelta(heartbeat)
            sampled = await workflow.execute_child_workflow(
                ml_contract.SAMPLE_MODEL_WORKFLOW,
                sample,
                id=f"{workflow.info().workflow_id}-sample-{name}-{index}",
                task_queue=ml_task_queue,
                result_type=ml_pb2.SampleModelWorkflowResult,
            )
            written += sampled.rows_written
            progress.rows_read = max(progress.rows_read, plan.row_count)
            progress.rows_written = written
    except ChildWorkflowError as err:
        raise ApplicationError(
            f"synthesizing {name} failed: {cause(err)}", type="SyncFailed", non_retryable=True
        ) from err
    return sync_pb2.SyncTableResult(table=name, rows_read=plan.row_count, rows_written=written)
