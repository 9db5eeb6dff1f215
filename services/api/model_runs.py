"""ML workflows in Temporal, started from the API on the ml task queue. Temporal's errors are
translated to domain errors here, once."""

import logging
from datetime import timedelta
from typing import TypeVar
from uuid import uuid4

from temporalio.client import Client, WorkflowFailureError, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from services.common import ml_contract
from services.common.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    VeilsyncError,
)
from services.common.failures import innermost
from veilsync.temporal.v1 import ml_pb2
from veilsync.v1 import model_pb2

_log = logging.getLogger(__name__)
T = TypeVar("T")
QUERY_TIMEOUT = timedelta(seconds=5)
_ERRORS: dict[str, type[VeilsyncError]] = {
    "NotFoundError": NotFoundError,
    "FailedPreconditionError": FailedPreconditionError,
}


class ModelRuns:
    def __init__(self, client: Client, task_queue: str = ml_contract.ML_TASK_QUEUE) -> None:
        self._client = client
        self._queue = task_queue

    async def train(self, request: ml_pb2.TrainModelWorkflowInput) -> None:
        await self._client.start_workflow(
            ml_contract.TRAIN_MODEL_WORKFLOW,
            request,
            id=ml_contract.train_workflow_id(request.model_id),
            task_queue=self._queue,
        )

    async def progress(self, model_id: str) -> model_pb2.TrainingProgress | None:
        handle = self._client.get_workflow_handle(ml_contract.train_workflow_id(model_id))
        try:
            response = await handle.query(
                ml_contract.GET_TRAINING_PROGRESS_QUERY,
                ml_pb2.GetTrainingProgressRequest(),
                result_type=ml_pb2.GetTrainingProgressResponse,
                rpc_timeout=QUERY_TIMEOUT,
            )
        except (WorkflowQueryFailedError, RPCError) as err:
            _log.warning("training progress query of %s failed: %s", model_id, err)
            return None
        return (
            response.progress if isinstance(response, ml_pb2.GetTrainingProgressResponse) else None
        )

    async def cancel_training(self, model_id: str) -> None:
        handle = self._client.get_workflow_handle(ml_contract.train_workflow_id(model_id))
        try:
            await handle.cancel()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise

    async def sample(
        self, request: ml_pb2.SampleModelWorkflowInput
    ) -> ml_pb2.SampleModelWorkflowResult:
        return await self._run(
            ml_contract.SAMPLE_MODEL_WORKFLOW, request, ml_pb2.SampleModelWorkflowResult, "sample"
        )

    async def validate_upload(self, request: ml_pb2.ValidateUploadWorkflowInput) -> None:
        await self._run(
            ml_contract.VALIDATE_UPLOAD_WORKFLOW,
            request,
            ml_pb2.ValidateUploadWorkflowResult,
            "upload",
        )

    async def _run(self, workflow: str, request: object, result_type: type[T], prefix: str) -> T:
        try:
            result: T = await self._client.execute_workflow(
                workflow,
                request,
                id=f"{prefix}-{uuid4().hex}",
                task_queue=self._queue,
                result_type=result_type,
            )
        except WorkflowFailureError as err:
            raise _domain_error(err) from err
        return result


def _domain_error(err: WorkflowFailureError) -> VeilsyncError:
    """The activity's own error, as the domain error it was raised as."""
    message, kind = innermost(err)
    if kind == "InvalidArgumentError":
        field, _, description = message.partition(": ")
        return (
            InvalidArgumentError(field, description)
            if description
            else InvalidArgumentError("", message)
        )
    return _ERRORS.get(kind or "", FailedPreconditionError)(message)
