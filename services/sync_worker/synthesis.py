"""A synthesized table of a sync run, as child workflows on the ML task queue: get or train
the model (TrainModelWorkflow), then sample it into each destination (SampleModelWorkflow), or,
when the job names the model's serving queue, through the "sample_model" activity of the
worker polling that queue (any Temporal SDK, e.g. workers/typescript-model).
Workflow code: deterministic, contracts only."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

from services.sync_worker.table_run import HEARTBEAT, MAX_ATTEMPTS, cause

with workflow.unsafe.imports_passed_through():
    from services.contract.ml_worker_temporal import (
        SAMPLE_MODEL_ACTIVITY,
        SAMPLE_MODEL_WORKFLOW,
        TRAIN_MODEL_WORKFLOW,
    )
    from veilsync.temporal.v1 import ml_pb2, sync_pb2
    from veilsync.v1 import model_pb2

SAMPLING = timedelta(hours=6)


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
        trained = await TRAIN_MODEL_WORKFLOW.execute_child(
            train, id=TRAIN_MODEL_WORKFLOW.workflow_id(train), task_queue=ml_task_queue
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
            if plan.serving_queue:
                sampled = await _sample_on(plan.serving_queue, sample, heartbeat)
            else:
                sampled = await SAMPLE_MODEL_WORKFLOW.execute_child(
                    sample,
                    id=f"{workflow.info().workflow_id}-sample-{name}-{index}",
                    task_queue=ml_task_queue,
                )
            written += sampled.rows_written
            progress.rows_read = max(progress.rows_read, plan.row_count)
            progress.rows_written = written
    except (ActivityError, ChildWorkflowError) as err:
        raise ApplicationError(
            f"synthesizing {name} failed: {cause(err)}", type="SyncFailed", non_retryable=True
        ) from err
    return sync_pb2.SyncTableResult(table=name, rows_read=plan.row_count, rows_written=written)


async def _sample_on(
    task_queue: str, sample: ml_pb2.SampleModelWorkflowInput, heartbeat: timedelta | None
) -> ml_pb2.SampleModelWorkflowResult:
    """The model sampled by the "sample_model" activity of the worker serving it."""
    result = await SAMPLE_MODEL_ACTIVITY.execute(
        ml_pb2.SampleModelInput(request=sample),
        task_queue=task_queue,
        start_to_close_timeout=SAMPLING,
        heartbeat_timeout=heartbeat or HEARTBEAT,
        retry_policy=RetryPolicy(maximum_attempts=MAX_ATTEMPTS),
    )
    return result.result
