"""ModelService: model metadata in the store, training and sampling on the ml task queue,
uploads staged in the model store and validated by an ML worker before they are kept."""

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
from temporalio.client import Client

from services.api import model_requests
from services.api.accounts import account_of
from services.api.errors import error_status
from services.api.model_formats import check_format
from services.api.model_runs import ModelRuns
from services.common.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    VeilsyncError,
)
from services.common.model_files import UPLOAD_FILE, ModelFiles, open_model_files
from services.common.settings import Settings
from services.common.store.models_store import ModelStore
from services.common.store.store import MetadataStore
from services.engine.connectors import open_database
from veilsync.temporal.v1 import ml_pb2
from veilsync.v1 import model_pb2 as pb
from veilsync.v1 import model_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]


class ModelServicer(model_pb2_grpc.ModelServiceServicer):
    def __init__(
        self, store: MetadataStore, models: ModelStore, files: ModelFiles, runs: ModelRuns
    ) -> None:
        self._store = store
        self._models = models
        self._files = files
        self._runs = runs

    async def TrainModel(
        self, request: pb.TrainModelRequest, context: Context
    ) -> pb.TrainModelResponse:
        account = account_of(context)
        options = model_requests.training_options(request)
        workflow_input = await asyncio.to_thread(self._training_input, account, request)
        workflow_input.options.CopyFrom(options)
        model = await asyncio.to_thread(
            self._models.create,
            account,
            pb.Model(
                name=request.name,
                kind=request.kind,
                source_connection=request.source_connection,
                table=f"{workflow_input.schema}.{workflow_input.table}",
                status=pb.MODEL_STATUS_TRAINING,
                options=options,
                progress=pb.TrainingProgress(epochs=options.epochs),
            ),
        )
        workflow_input.model_id = model.id
        try:
            await self._runs.train(workflow_input)
        except BaseException:
            await asyncio.to_thread(self._models.delete, account, model.id)
            raise
        return pb.TrainModelResponse(model=model)

    async def GetModel(self, request: pb.GetModelRequest, context: Context) -> pb.GetModelResponse:
        model = await asyncio.to_thread(self._models.get, account_of(context), _id(request.id))
        if model.status == pb.MODEL_STATUS_TRAINING:
            progress = await self._runs.progress(model.id)
            if progress is not None:
                model.progress.CopyFrom(progress)
        return pb.GetModelResponse(model=model)

    async def ListModels(
        self, request: pb.ListModelsRequest, context: Context
    ) -> pb.ListModelsResponse:
        page = await asyncio.to_thread(
            self._models.list, account_of(context), request.page_size, request.page_token
        )
        return pb.ListModelsResponse(models=page.items, next_page_token=page.next_page_token)

    async def DeleteModel(
        self, request: pb.DeleteModelRequest, context: Context
    ) -> pb.DeleteModelResponse:
        account = account_of(context)
        model = await asyncio.to_thread(self._models.get, account, _id(request.id))
        if model.status == pb.MODEL_STATUS_TRAINING:
            await self._runs.cancel_training(model.id)
        await asyncio.to_thread(self._models.delete, account, model.id)
        await asyncio.to_thread(self._files.delete_model, account, model.id)
        return pb.DeleteModelResponse()

    async def SampleModel(
        self, request: pb.SampleModelRequest, context: Context
    ) -> pb.SampleModelResponse:
        account = account_of(context)
        model_requests.check_sample(request)
        # By id or, as people type it, by name.
        model = await asyncio.to_thread(self._models.find, account, request.id)
        if model is None:
            raise NotFoundError(f'model "{request.id}" not found')
        if model.status != pb.MODEL_STATUS_READY:
            raise FailedPreconditionError(
                f'model "{model.name}" is {pb.ModelStatus.Name(model.status)}, not READY'
            )
        workflow_input = ml_pb2.SampleModelWorkflowInput(
            account_id=account, model_id=model.id, row_count=request.row_count, seed=request.seed
        )
        if request.WhichOneof("target") == "preview":
            workflow_input.preview = True
        else:
            schema, table = model_requests.split_table(request.destination.table)
            workflow_input.schema, workflow_input.table = schema, table
            workflow_input.destination_connection_id = await asyncio.to_thread(
                self._store.connection_id_by_name, account, request.destination.connection
            )
        result = await self._runs.sample(workflow_input)
        return pb.SampleModelResponse(
            rows_written=result.rows_written, columns=result.columns, rows=result.rows
        )

    async def GetModelQuality(
        self, request: pb.GetModelQualityRequest, context: Context
    ) -> pb.GetModelQualityResponse:
        account = account_of(context)
        quality = await asyncio.to_thread(self._models.quality, account, _id(request.id))
        if quality is None:
            raise FailedPreconditionError(
                "no quality report: the model is still training, failed, or was uploaded"
            )
        return pb.GetModelQualityResponse(quality=quality)

    async def UploadModel(
        self, request_iterator: AsyncIterator[pb.UploadModelRequest], context: Context
    ) -> pb.UploadModelResponse:
        # Streaming handlers are not wrapped by the unary error interceptor: map here.
        try:
            return await self._upload(request_iterator, account_of(context))
        except VeilsyncError as err:
            code, message, metadata = error_status(err)
            await context.abort(code, message, metadata)
            raise  # abort raises; this satisfies type checkers

    async def _upload(
        self, requests: AsyncIterator[pb.UploadModelRequest], account: str
    ) -> pb.UploadModelResponse:
        first = await anext(aiter(requests), None)
        if first is None or first.WhichOneof("part") != "metadata":
            raise InvalidArgumentError("metadata", "the first message must carry the metadata")
        metadata = first.metadata
        model_requests.check_upload_metadata(metadata, self._files.upload_limit)
        if await asyncio.to_thread(self._models.exists, account, metadata.name):
            raise InvalidArgumentError("metadata.name", f'model "{metadata.name}" already exists')
        staged = self._files.staging_key()
        try:
            await self._receive(requests, staged, metadata)
            await asyncio.to_thread(self._check_format, staged, metadata.format)
            await self._runs.validate_upload(
                ml_pb2.ValidateUploadWorkflowInput(staged_key=staged, metadata=metadata)
            )
            model = await asyncio.to_thread(
                self._models.create,
                account,
                pb.Model(
                    name=metadata.name,
                    kind=pb.MODEL_KIND_UPLOADED,
                    status=pb.MODEL_STATUS_READY,
                    columns=metadata.columns,
                    format=metadata.format,
                    sha256=metadata.sha256,
                    size_bytes=metadata.size_bytes,
                ),
            )
            await asyncio.to_thread(
                self._files.move, staged, self._files.model_key(account, model.id, UPLOAD_FILE)
            )
        finally:
            await asyncio.to_thread(self._files.delete, staged)
        return pb.UploadModelResponse(model=model)

    async def _receive(
        self,
        requests: AsyncIterator[pb.UploadModelRequest],
        staged: str,
        metadata: pb.UploadModelMetadata,
    ) -> None:
        """Write the chunks to the staged file, checking size and checksum as they come."""
        digest, size = hashlib.sha256(), 0
        with self._files.writing(staged) as out:
            async for message in requests:
                if message.WhichOneof("part") != "chunk":
                    raise InvalidArgumentError("metadata", "only the first message has metadata")
                size += len(message.chunk)
                if size > metadata.size_bytes:
                    raise InvalidArgumentError(
                        "chunk",
                        f"the upload is larger than the declared {metadata.size_bytes} bytes",
                    )
                digest.update(message.chunk)
                out.write(message.chunk)
        if size != metadata.size_bytes:
            raise InvalidArgumentError(
                "metadata.size_bytes", f"declared {metadata.size_bytes} bytes, received {size}"
            )
        if digest.hexdigest() != metadata.sha256:
            raise InvalidArgumentError("metadata.sha256", "does not match the uploaded bytes")

    def _check_format(self, key: str, declared: "pb.ModelFormat.ValueType") -> None:
        with self._files.local_file(key) as path:
            check_format(path, declared)

    def _training_input(
        self, account: str, request: pb.TrainModelRequest
    ) -> ml_pb2.TrainModelWorkflowInput:
        """The workflow input, after checking the table exists, has the named columns and
        has rows: a bad request fails here, before anything is stored."""
        if self._models.exists(account, request.name):
            raise InvalidArgumentError("name", f'model "{request.name}" already exists')
        connection_id = self._store.connection_id_by_name(account, request.source_connection)
        database = open_database(self._store.connection_url(account, connection_id))
        table = database.introspect().resolve(request.table)
        if table is None:
            raise InvalidArgumentError("table", f'table "{request.table}" not found')
        for i, item in enumerate(request.transformers):
            if table.column(item.column) is None:
                raise InvalidArgumentError(
                    f"transformers[{i}].column", f'no column "{item.column}" in {table.qualified}'
                )
        if database.count(table.schema, table.name) == 0:
            raise FailedPreconditionError(f"table {table.qualified} has no rows to train on")
        return ml_pb2.TrainModelWorkflowInput(
            account_id=account,
            source_connection_id=connection_id,
            schema=table.schema,
            table=table.name,
            kind=request.kind,
            transformers=request.transformers,
        )


def build_model_servicer(
    settings: Settings, store: MetadataStore, temporal_client: Client
) -> ModelServicer:
    """The servicer with its ports: the model store shares the metadata database, model files
    live in VEILSYNC_ARTIFACT_STORE (default the directory data_dir/models), shared with the
    ML workers."""
    return ModelServicer(
        store,
        ModelStore(settings.metadata_url()),
        open_model_files(settings),
        ModelRuns(temporal_client, settings.ml_task_queue),
    )


def _id(model_id: str) -> str:
    if not model_id:
        raise InvalidArgumentError("id", "is required")
    return model_id
