"""The ML activities: train a model from a table, sample it into a table or a preview,
validate an uploaded model. Ports come in through MlActivities' constructor."""

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import pandas as pd
import torch
from google.protobuf import struct_pb2
from temporalio import activity
from temporalio.exceptions import CancelledError

from services.common.activity_errors import domain_errors
from services.common.errors import FailedPreconditionError, NotFoundError
from services.common.ml_contract import MAX_PREVIEW_ROWS
from services.contract.ml_worker_temporal import (
    RECORD_TRAINING_FAILURE_ACTIVITY,
    REGISTER_MODEL_ACTIVITY,
    SAMPLE_MODEL_ACTIVITY,
    TRAIN_MODEL_ACTIVITY,
    VALIDATE_UPLOAD_ACTIVITY,
)
from services.engine.connectors import open_database
from services.engine.connectors.base import Database
from services.engine.schema import Table
from services.ml_worker.artifacts import UPLOAD_FILE, ArtifactStore
from services.ml_worker.backends import backend_for
from services.ml_worker.backends.base import FittedModel, ModelBackend, TrainOptions
from services.ml_worker.evaluation import evaluate, split
from services.ml_worker.spec import MAX_KEY_VALUES, TableSpec
from services.ml_worker.synthesis import ParentKeys, key_columns, sample_rows
from services.ml_worker.tables import (
    parent_keys,
    plain,
    read_frame,
    resolve_table,
    spec_for_frame,
    write_frames,
)
from services.ml_worker.uploads import UploadedModel, validate_upload
from veilsync.temporal.v1 import ml_pb2
from veilsync.v1 import model_pb2

log = logging.getLogger(__name__)

SAMPLE_BATCH_ROWS = 10_000

# Sends SetTrainingProgress to (workflow id, run id); best effort.
ProgressSender = Callable[[str, str, ml_pb2.SetTrainingProgressRequest], None]
# The model family of a kind: backend_for, or another in tests.
BackendFor = Callable[["model_pb2.ModelKind.ValueType"], ModelBackend]


class ConnectionDirectory(Protocol):
    def connection_url(self, account_id: str, connection_id: str) -> str: ...


class ModelRegistry(Protocol):
    def get(self, account_id: str, model_id: str) -> model_pb2.Model: ...

    def find(self, account_id: str, id_or_name: str) -> model_pb2.Model | None: ...

    def create(self, account_id: str, model: model_pb2.Model) -> model_pb2.Model: ...

    def update(
        self,
        account_id: str,
        model: model_pb2.Model,
        quality: model_pb2.ModelQuality | None = None,
    ) -> model_pb2.Model: ...


class _Hooks:
    """Training hooks of one activity attempt: heartbeat, progress, checkpoints, cancel."""

    def __init__(
        self,
        activities: "MlActivities",
        account_id: str,
        model_id: str,
        epochs: int,
        resumable: bool,
    ) -> None:
        self._a, self._account, self._model = activities, account_id, model_id
        self._epochs, self._resumable = epochs, resumable
        self._start = time.monotonic()
        self._first_epoch: int | None = None
        self.last = model_pb2.TrainingProgress(epochs=epochs)
        self.resumed_epochs = 0

    def epoch_done(self, epoch: int, loss: float) -> None:
        activity.heartbeat(epoch)
        if self._first_epoch is None:
            self._first_epoch = epoch - 1
        done_here = epoch - self._first_epoch
        progress = model_pb2.TrainingProgress(epoch=epoch, epochs=self._epochs, loss=loss)
        per_epoch = (time.monotonic() - self._start) / max(done_here, 1)
        progress.eta.FromTimedelta(
            pd.Timedelta(seconds=per_epoch * max(self._epochs - epoch, 0)).to_pytimedelta()
        )
        self.last = progress
        info = activity.info()
        self._a.send_progress(
            info.workflow_id or "",
            info.workflow_run_id or "",
            ml_pb2.SetTrainingProgressRequest(progress=progress),
        )
        log.info("model %s epoch %d/%d loss %.4f", self._model, epoch, self._epochs, loss)
        self.still_running()

    def still_running(self) -> None:
        if activity.is_cancelled() or activity.is_worker_shutdown():
            raise CancelledError("training cancelled")

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        if self._resumable:
            self._a.artifacts.save_checkpoint(self._account, self._model, state)

    def load_checkpoint(self) -> dict[str, Any] | None:
        if not self._resumable:
            return None
        state = self._a.artifacts.load_checkpoint(self._account, self._model)
        if state is not None:
            self.resumed_epochs = int(state.get("epoch", 0))
            log.info(
                "model %s resumes after epoch %d (attempt %d)",
                self._model,
                self.resumed_epochs,
                activity.info().attempt,
            )
        return state


class MlActivities:
    def __init__(
        self,
        directory: ConnectionDirectory,
        models: ModelRegistry,
        artifacts: ArtifactStore,
        send_progress: ProgressSender,
        secret: bytes,
        backends: BackendFor = backend_for,
    ) -> None:
        self._directory = directory
        self._models = models
        self.artifacts = artifacts
        self.send_progress = send_progress
        self._secret = secret
        self._backends = backends

    @property
    def device(self) -> torch.device:
        return self.artifacts.device

    def pii_key(self, model_id: str) -> bytes:
        return hashlib.blake2b(model_id.encode(), key=self._secret[:64]).digest()

    @activity.defn(name=TRAIN_MODEL_ACTIVITY.name)
    @domain_errors
    def train_model(self, request: ml_pb2.TrainModelInput) -> ml_pb2.TrainModelResult:
        req = request.request
        account, model_id = req.account_id, req.model_id
        database = open_database(self._directory.connection_url(account, req.source_connection_id))
        table = resolve_table(database, req.schema, req.table)
        frame = read_frame(database, table, req.options.max_rows)
        spec = spec_for_frame(table, frame, {t.column: t.transformer for t in req.transformers})
        rows = split(frame, req.options.seed, model_id)
        backend = self._backends(req.kind)
        options = TrainOptions(req.options.epochs, req.options.batch_size, req.options.seed)
        hooks = _Hooks(self, account, model_id, options.epochs, backend.resumable)
        fitted = backend.fit(rows.training, spec, options, hooks, self.device)
        quality, evaluation = evaluate(fitted, rows, spec, options.seed)
        _log_evaluation(model_id, evaluation)
        sha, size = self.artifacts.save_model(
            account,
            model_id,
            {"kind": int(req.kind), "spec": spec.to_dict(), "state": fitted.state()},
        )
        self.artifacts.drop_checkpoint(account, model_id)
        model = self._models.get(account, model_id)
        model.status = model_pb2.MODEL_STATUS_READY
        model.training_rows = len(rows.training)
        model.quality_score = evaluation.quality_score
        model.evaluation.CopyFrom(evaluation)
        model.sha256, model.size_bytes = sha, size
        model.progress.CopyFrom(hooks.last)
        model.progress.ClearField("eta")
        del model.columns[:]
        model.columns.extend(spec.output_columns())
        self._models.update(account, model, quality)
        return ml_pb2.TrainModelResult(
            result=ml_pb2.TrainModelWorkflowResult(
                model_id=model_id,
                training_rows=len(rows.training),
                epochs=hooks.last.epoch,
                loss=hooks.last.loss,
                quality_score=evaluation.quality_score,
                resumed_epochs=hooks.resumed_epochs,
                evaluation=evaluation,
            )
        )

    @activity.defn(name=REGISTER_MODEL_ACTIVITY.name)
    @domain_errors
    def register_model(self, request: ml_pb2.RegisterModelInput) -> ml_pb2.RegisterModelResult:
        """A sync run's model: the READY one of that id or name, else a new row to train."""
        req = request.request
        found = self._models.find(req.account_id, req.model_name)
        if found is not None and found.status == model_pb2.MODEL_STATUS_READY:
            return ml_pb2.RegisterModelResult(
                model_id=found.id, train=False, evaluation=found.evaluation
            )
        if found is not None and found.id == req.model_id:  # created by an earlier attempt
            return ml_pb2.RegisterModelResult(model_id=found.id, train=True)
        if found is not None:
            status = model_pb2.ModelStatus.Name(found.status)
            raise FailedPreconditionError(
                f'model "{found.name}" is {status}, not READY; delete it to train it again'
            )
        if not req.kind:
            raise NotFoundError(f'model "{req.model_name}" not found; set a kind to train one')
        self._models.create(
            req.account_id,
            model_pb2.Model(
                id=req.model_id,
                name=req.model_name,
                kind=req.kind,
                table=f"{req.schema}.{req.table}",
                status=model_pb2.MODEL_STATUS_TRAINING,
                options=req.options,
                progress=model_pb2.TrainingProgress(epochs=req.options.epochs),
            ),
        )
        return ml_pb2.RegisterModelResult(model_id=req.model_id, train=True)

    @activity.defn(name=RECORD_TRAINING_FAILURE_ACTIVITY.name)
    @domain_errors
    def record_training_failure(
        self, request: ml_pb2.RecordTrainingFailureInput
    ) -> ml_pb2.RecordTrainingFailureResult:
        model = self._models.get(request.account_id, request.model_id)
        model.status = model_pb2.MODEL_STATUS_FAILED
        model.error = request.error
        self._models.update(request.account_id, model)
        self.artifacts.drop_checkpoint(request.account_id, request.model_id)
        return ml_pb2.RecordTrainingFailureResult()

    @activity.defn(name=SAMPLE_MODEL_ACTIVITY.name)
    @domain_errors
    def sample_model(self, request: ml_pb2.SampleModelInput) -> ml_pb2.SampleModelResult:
        req = request.request
        model = self._models.get(req.account_id, req.model_id)
        result = ml_pb2.SampleModelWorkflowResult()
        if req.preview:
            frames, _ = self._sampler(req.account_id, model, req.row_count, req.seed)
            frame = pd.concat(list(frames), ignore_index=True).head(MAX_PREVIEW_ROWS)
            result.columns.extend(str(c) for c in frame.columns)
            result.rows.extend(_struct(row) for row in frame.to_dict(orient="records"))
            return ml_pb2.SampleModelResult(result=result)
        database = open_database(
            self._directory.connection_url(req.account_id, req.destination_connection_id)
        )
        table = resolve_table(database, req.schema, req.table)
        parents = _parents(database, table, list(req.references))
        frames, keys = self._sampler(
            req.account_id, model, req.row_count, req.seed, parents, set(req.null_columns)
        )
        key = [k for k in table.primary_key if k in keys] if table.primary_key else []
        result.rows_written = write_frames(database, table, _beating(frames), key)
        return ml_pb2.SampleModelResult(result=result)

    @activity.defn(name=VALIDATE_UPLOAD_ACTIVITY.name)
    @domain_errors
    def validate_upload(self, request: ml_pb2.ValidateUploadInput) -> ml_pb2.ValidateUploadResult:
        req = request.request
        with self.artifacts.files.local_file(req.staged_key) as path:
            rows = validate_upload(path, req.metadata.format, list(req.metadata.columns))
        return ml_pb2.ValidateUploadResult(
            result=ml_pb2.ValidateUploadWorkflowResult(smoke_rows=rows)
        )

    def _sampler(
        self,
        account: str,
        model: model_pb2.Model,
        rows: int,
        seed: int,
        parents: list[ParentKeys] | None = None,
        nulls: set[str] | None = None,
    ) -> tuple[Iterator[pd.DataFrame], list[str]]:
        """Batches of sampled rows, and the columns generated as unique keys."""
        if model.status != model_pb2.MODEL_STATUS_READY:
            raise FailedPreconditionError(f'model "{model.name}" is not ready')
        files = self.artifacts.files
        if model.kind == model_pb2.MODEL_KIND_UPLOADED:
            # The model is read whole when loaded, so a downloaded copy may go right after.
            with files.local_file(files.model_key(account, model.id, UPLOAD_FILE)) as path:
                uploaded = UploadedModel(path, model.format, list(model.columns))
            return _batches(lambda n, offset: uploaded.sample(n, seed + offset), rows), []
        payload = self.artifacts.load_model(account, model.id)
        spec = TableSpec.from_dict(payload["spec"])
        fitted: FittedModel = self._backends(payload["kind"]).load(
            payload["state"], spec, self.device
        )
        key = self.pii_key(model.id)
        return (
            _batches(
                lambda n, offset: sample_rows(
                    fitted, spec, n, seed, offset, key, parents or [], nulls or set()
                ),
                rows,
            ),
            key_columns(spec),
        )

    def all(self) -> list[Callable[..., object]]:
        return [
            self.register_model,
            self.train_model,
            self.record_training_failure,
            self.sample_model,
            self.validate_upload,
        ]


def _parents(
    database: Database, table: Table, references: list[ml_pb2.ForeignKeyReference]
) -> list[ParentKeys]:
    """Keys of the destination's parent rows for each foreign key: those the request names,
    else those the destination table declares."""
    pairs = [
        (list(r.columns), r.referenced_schema, r.referenced_table, list(r.referenced_columns))
        for r in references
    ] or [
        (list(fk.columns), fk.ref_schema, fk.ref_table, list(fk.ref_columns))
        for fk in table.foreign_keys
    ]
    parents = []
    for columns, schema, name, referenced in pairs:
        rows = parent_keys(database, schema, name, referenced, MAX_KEY_VALUES)
        parents.append(ParentKeys(f"{schema}.{name}", tuple(columns), rows))
    return parents


def _batches(draw: Callable[[int, int], pd.DataFrame], rows: int) -> Iterator[pd.DataFrame]:
    for offset in range(0, rows, SAMPLE_BATCH_ROWS):
        yield draw(min(SAMPLE_BATCH_ROWS, rows - offset), offset)


def _beating(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Heartbeat rows sampled so far, so a stuck sampler is noticed and a cancel arrives."""
    done = 0
    for frame in frames:
        yield frame
        done += len(frame)
        activity.heartbeat(done)


def _log_evaluation(model_id: str, evaluation: model_pb2.ModelEvaluation) -> None:
    if not evaluation.holdout_rows:
        log.warning("model %s: too few rows to hold any out; quality not measured", model_id)
        return
    log.info(
        "model %s: quality %.2f on %d held-out rows, DCR share %.2f over %d synthetic rows",
        model_id,
        evaluation.quality_score,
        evaluation.holdout_rows,
        evaluation.dcr_share,
        evaluation.dcr_rows,
    )
    if evaluation.memorizes:
        log.warning("model %s memorizes: its rows sit on its training rows", model_id)


def _struct(row: dict[Any, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    for name, value in row.items():
        python = plain(value)
        scalar = python is None or isinstance(python, bool | int | float | str)
        struct[str(name)] = python if scalar else str(python)
    return struct
