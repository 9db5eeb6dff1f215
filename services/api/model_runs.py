"""ML workflows in Temporal, started from the API on the ml task queue. Temporal's errors are
translated to domain errors here, once."""

import logging
from datetime import timedelta
from uuid import uuid4

from temporalio.client import Client, WorkflowFailureError, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from services.common import ml_contract
from services.common.contract_defs import In, Out, WorkflowDef
from services.common.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    VeilsyncError,
)
from services.common.failures import innermost
from services.contract.ml_worker_temporal import (
    GET_TRAINING_PROGRESS_QUERY,
    SAMPLE_MODEL_WORKFLOW,
    TRAIN_MODEL_WORKFLOW,
    VALIDATE_UPLOAD_WORKFLOW,
)
from veilsync.temporal.v1 import ml_pb2
from veilsync.v1 import model_pb2

_log = logging.getLogger(__name__)
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
        await TRAIN_MODEL_WORKFLOW.start(
            self._client,
            request,
            id=TRAIN_MODEL_WORKFLOW.workflow_id(request),
            task_queue=self._queue,
        )

    async def progress(self, model_id: str) -> model_pb2.TrainingProgress | None:
        handle = self._client.get_workflow_handle(ml_contract.train_workflow_id(model_id))
        try:
            response = await GET_TRAINING_PROGRESS_QUERY.query(
                handle, ml_pb2.GetTrainingProgressRequest(), rpc_timeout=QUERY_TIMEOUT
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
        return await self._run(SAMPLE_MODEL_WORKFLOW, request, "sample")

    async def validate_upload(self, request: ml_pb2.ValidateUploadWorkflowInput) -> None:
        await self._run(VALIDATE_UPLOAD_WORKFLOW, request, "upload")

    async def _run(self, workflow: WorkflowDef[In, Out], request: In, prefix: str) -> Out:
        try:
            return await workflow.execute(
                self._client, request, id=f"{prefix}-{uuid4().hex}", task_queue=self._queue
            )
        except WorkflowFailureError as err:
            raise _domain_error(err) from err


def _domain_error(err: WorkflowFailureError) -> VeilsyncError:
    """The activity's own error, as the domain error it was raised as. The client's error is
    no Temporal failure itself ("Workflow execution failed"): the chain starts at its cause."""
    message, kind = innermost(err.cause or err)
    if kind == "InvalidArgumentError":
        field, _, description = message.partition(": ")
        return (
            InvalidArgumentError(field, description)
            if description
            else InvalidArgumentError("", message)
        )
    return _ERRORS.get(kind or "", FailedPreconditionError)(message)
