"""Names of the ML part of the Temporal contract (proto/veilsync/temporal/v1/ml.proto).

Torch-free on purpose: the API and the sync workflow import these names to start ML
workflows without pulling in the ML stack."""

from services.common.errors import InvalidArgumentError
from services.contract import ml_worker_temporal
from services.contract.ml_worker_temporal import ML_TASK_QUEUE
from veilsync.temporal.v1 import ml_pb2
from veilsync.v1 import model_pb2

__all__ = [
    "GET_TRAINING_PROGRESS_QUERY",
    "ML_TASK_QUEUE",
    "SAMPLE_MODEL_WORKFLOW",
    "SET_TRAINING_PROGRESS_SIGNAL",
    "TRAINABLE_KINDS",
    "TRAIN_MODEL_WORKFLOW",
    "VALIDATE_UPLOAD_WORKFLOW",
    "train_workflow_id",
    "training_defaults",
]

# As plain strings, for callers that pass names; workflows use services/contract's definitions.
TRAIN_MODEL_WORKFLOW = ml_worker_temporal.TRAIN_MODEL_WORKFLOW.name
SAMPLE_MODEL_WORKFLOW = ml_worker_temporal.SAMPLE_MODEL_WORKFLOW.name
VALIDATE_UPLOAD_WORKFLOW = ml_worker_temporal.VALIDATE_UPLOAD_WORKFLOW.name
GET_TRAINING_PROGRESS_QUERY = ml_worker_temporal.GET_TRAINING_PROGRESS_QUERY.name
SET_TRAINING_PROGRESS_SIGNAL = ml_worker_temporal.SET_TRAINING_PROGRESS_SIGNAL.name

MAX_PREVIEW_ROWS = 1000
SMOKE_ROWS = 10


def train_workflow_id(model_id: str) -> str:
    return ml_worker_temporal.TRAIN_MODEL_WORKFLOW.workflow_id(
        ml_pb2.TrainModelWorkflowInput(model_id=model_id)
    )


TRAINABLE_KINDS = frozenset(
    {
        model_pb2.MODEL_KIND_GAUSSIAN_COPULA,
        model_pb2.MODEL_KIND_CTGAN,
        model_pb2.MODEL_KIND_TVAE,
        model_pb2.MODEL_KIND_VEILSYNC_VAE,
    }
)


def training_defaults(
    given: model_pb2.TrainingOptions, field: str = "options"
) -> model_pb2.TrainingOptions:
    """The options with defaults filled in; out-of-range values are refused, naming `field`."""
    options = model_pb2.TrainingOptions(
        epochs=given.epochs or 100,
        batch_size=given.batch_size or 500,
        max_rows=given.max_rows or 1_000_000,
        seed=given.seed,
    )
    _within(f"{field}.epochs", options.epochs, 1, 10_000)
    _within(f"{field}.batch_size", options.batch_size, 10, 100_000)
    _within(f"{field}.max_rows", options.max_rows, 1, 10_000_000)
    return options


def _within(field: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise InvalidArgumentError(field, f"must be between {low} and {high}, got {value}")
