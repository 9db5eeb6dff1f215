"""TrainModelWorkflow, SampleModelWorkflow and ValidateUploadWorkflow on the ml task queue.
Deterministic: contracts only; the work is in the activities."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from services.common.contract_defs import ActivityDef, In, Out
    from services.common.failures import innermost
    from services.contract.ml_worker_temporal import (
        GET_TRAINING_PROGRESS_QUERY,
        RECORD_TRAINING_FAILURE_ACTIVITY,
        REGISTER_MODEL_ACTIVITY,
        SAMPLE_MODEL_ACTIVITY,
        SAMPLE_MODEL_WORKFLOW,
        SET_TRAINING_PROGRESS_SIGNAL,
        TRAIN_MODEL_ACTIVITY,
        TRAIN_MODEL_WORKFLOW,
        VALIDATE_UPLOAD_ACTIVITY,
        VALIDATE_UPLOAD_WORKFLOW,
    )
    from veilsync.temporal.v1 import ml_pb2
    from veilsync.v1 import model_pb2

RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
)
TRAINING = timedelta(hours=24)
SAMPLING = timedelta(hours=6)
SHORT = timedelta(minutes=5)
# An epoch may take long on a big table; a worker that stops heartbeating for this long is
# presumed dead and the training moves to another worker, resuming from its checkpoint.
HEARTBEAT = timedelta(minutes=2)


async def _step(activity: ActivityDef[In, Out], request: In, failure: str) -> Out:
    """A short activity; its failure fails the workflow with the activity's own message."""
    try:
        return await activity.execute(request, start_to_close_timeout=SHORT, retry_policy=RETRY)
    except ActivityError as err:
        message, kind = innermost(err)
        raise ApplicationError(message, type=kind or failure, non_retryable=True) from err


@workflow.defn(name=TRAIN_MODEL_WORKFLOW.name)
class TrainModelWorkflow:
    def __init__(self) -> None:
        self._progress = model_pb2.TrainingProgress()

    @workflow.run
    async def run(self, request: ml_pb2.TrainModelWorkflowInput) -> ml_pb2.TrainModelWorkflowResult:
        self._progress.epochs = request.options.epochs
        if request.model_name:
            registered = await _step(
                REGISTER_MODEL_ACTIVITY,
                ml_pb2.RegisterModelInput(request=request),
                "ModelUnavailable",
            )
            if not registered.train:
                return ml_pb2.TrainModelWorkflowResult(
                    model_id=registered.model_id, reused=True, evaluation=registered.evaluation
                )
        heartbeat = (
            request.heartbeat_timeout.ToTimedelta()
            if request.HasField("heartbeat_timeout")
            else HEARTBEAT
        )
        try:
            result = await TRAIN_MODEL_ACTIVITY.execute(
                ml_pb2.TrainModelInput(request=request),
                start_to_close_timeout=TRAINING,
                heartbeat_timeout=heartbeat,
                retry_policy=RETRY,
            )
        except ActivityError as err:
            message, kind = innermost(err)
            await RECORD_TRAINING_FAILURE_ACTIVITY.execute(
                ml_pb2.RecordTrainingFailureInput(
                    account_id=request.account_id, model_id=request.model_id, error=message
                ),
                start_to_close_timeout=SHORT,
                retry_policy=RETRY,
            )
            raise ApplicationError(
                f"training failed: {message}", type=kind or "TrainingFailed", non_retryable=True
            ) from err
        self._progress.epoch = result.result.epochs
        self._progress.loss = result.result.loss
        self._progress.ClearField("eta")
        return result.result

    @workflow.signal(name=SET_TRAINING_PROGRESS_SIGNAL.name)
    def set_progress(self, request: ml_pb2.SetTrainingProgressRequest) -> None:
        """The highest epoch wins: a late signal from a dead attempt never moves it back."""
        if request.progress.epoch >= self._progress.epoch:
            self._progress.CopyFrom(request.progress)

    @workflow.query(name=GET_TRAINING_PROGRESS_QUERY.name)
    def get_progress(
        self, request: ml_pb2.GetTrainingProgressRequest
    ) -> ml_pb2.GetTrainingProgressResponse:
        return ml_pb2.GetTrainingProgressResponse(progress=self._progress)


@workflow.defn(name=SAMPLE_MODEL_WORKFLOW.name)
class SampleModelWorkflow:
    """Sample a READY model into a table (or a preview). Also runs as a child workflow of a
    sync run, which passes the destination connection, schema, table and row count."""

    @workflow.run
    async def run(
        self, request: ml_pb2.SampleModelWorkflowInput
    ) -> ml_pb2.SampleModelWorkflowResult:
        try:
            result = await SAMPLE_MODEL_ACTIVITY.execute(
                ml_pb2.SampleModelInput(request=request),
                start_to_close_timeout=SAMPLING,
                heartbeat_timeout=request.heartbeat_timeout.ToTimedelta()
                if request.HasField("heartbeat_timeout")
                else HEARTBEAT,
                retry_policy=RETRY,
            )
        except ActivityError as err:
            message, kind = innermost(err)
            raise ApplicationError(
                f"sampling failed: {message}", type=kind or "SamplingFailed", non_retryable=True
            ) from err
        return result.result


@workflow.defn(name=VALIDATE_UPLOAD_WORKFLOW.name)
class ValidateUploadWorkflow:
    """Load an uploaded model on an ML worker and draw its smoke sample."""

    @workflow.run
    async def run(
        self, request: ml_pb2.ValidateUploadWorkflowInput
    ) -> ml_pb2.ValidateUploadWorkflowResult:
        result = await _step(
            VALIDATE_UPLOAD_ACTIVITY, ml_pb2.ValidateUploadInput(request=request), "UploadRejected"
        )
        return result.result
