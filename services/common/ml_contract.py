"""Names of the ML part of the Temporal contract (proto/veilsync/temporal/v1/ml.proto).

Torch-free on purpose: the API and the sync workflow import these names to start ML
workflows without pulling in the ML stack."""

from services.common.contract import ML_TASK_QUEUE

__all__ = [
    "GET_TRAINING_PROGRESS_QUERY",
    "ML_TASK_QUEUE",
    "SAMPLE_MODEL_WORKFLOW",
    "SET_TRAINING_PROGRESS_SIGNAL",
    "TRAIN_MODEL_WORKFLOW",
    "VALIDATE_UPLOAD_WORKFLOW",
    "train_workflow_id",
]

TRAIN_MODEL_WORKFLOW = "TrainModelWorkflow"
SAMPLE_MODEL_WORKFLOW = "SampleModelWorkflow"
VALIDATE_UPLOAD_WORKFLOW = "ValidateUploadWorkflow"
GET_TRAINING_PROGRESS_QUERY = "GetTrainingProgress"
SET_TRAINING_PROGRESS_SIGNAL = "SetTrainingProgress"

MAX_PREVIEW_ROWS = 1000
SMOKE_ROWS = 10


def train_workflow_id(model_id: str) -> str:
    return f"train-{model_id}"
