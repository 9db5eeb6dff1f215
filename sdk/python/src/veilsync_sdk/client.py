"""The blocking client: `Client(address, api_key=...)` and its sub-clients.

Each method builds its call in veilsync_sdk.calls and sends it here; the asyncio client in
veilsync_sdk.aio sends the same calls.
"""

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

import grpc

from veilsync.v1 import connection_pb2, job_pb2, model_pb2, transformer_pb2
from veilsync_sdk.calls import connections, jobs, models, transformers
from veilsync_sdk.calls.base import (
    Call,
    ConnectionLike,
    ConnectionRole,
    JobLike,
    JobSpec,
    ModelLike,
    Paged,
    TransformerSpec,
)
from veilsync_sdk.calls.models import SampleResult
from veilsync_sdk.channel import Target
from veilsync_sdk.errors import VeilsyncError, from_rpc_error
from veilsync_sdk.reconnect import Backoff, Reconnects, is_final
from veilsync_sdk.transport import ClientBase, RunBase, SubClient, TransportBase

T = TypeVar("T")
OnProgress = Callable[[job_pb2.JobRunProgress], object]


class _Transport(TransportBase[grpc.Channel]):
    """Sends calls on one channel with the key and timeouts; failures become VeilsyncErrors."""

    def invoke(self, call: Call[T]) -> T:
        try:
            response = call.rpc(self._stubs)(
                call.request, timeout=self._timeout(call), metadata=self._metadata
            )
        except grpc.RpcError as err:
            raise from_rpc_error(err) from err
        return call.result(response)

    def paged(self, paged: Paged[T]) -> Iterator[T]:
        token = ""
        while True:
            items, token = self.invoke(paged.page(token))
            yield from items
            if not token:
                return

    def stream(self, call: Call[T], timeout_s: float | None) -> Iterator[T]:
        responses = call.rpc(self._stubs)(call.request, timeout=timeout_s, metadata=self._metadata)
        try:
            for response in responses:
                yield call.result(response)
        except grpc.RpcError as err:
            raise from_rpc_error(err) from err
        finally:
            responses.cancel()  # a no-op once the stream ended; frees it when the caller stops


class Run(RunBase[_Transport]):
    """A run of a job; `.wait()` follows it to the end."""

    def refresh(self) -> job_pb2.JobRun:
        self.run = self._t.invoke(jobs.get_run(self.id))
        return self.run

    def progress(self) -> job_pb2.JobRunProgress:
        return self._t.invoke(jobs.run_progress(self.id))

    def events(self) -> list[job_pb2.TableEvent]:
        return self._t.invoke(jobs.run_events(self.id))

    def cancel(self) -> None:
        self._t.invoke(jobs.cancel_run(self.id))

    def terminate(self, reason: str = "") -> None:
        self._t.invoke(jobs.terminate_run(self.id, reason))

    def wait(
        self, on_progress: OnProgress | None = None, *, timeout: float | None = None
    ) -> job_pb2.JobRun:
        """Follow the run's progress until it ends and return the final run.

        on_progress gets each change. A dropped stream or an UNAVAILABLE API is reconnected
        with backoff; other errors, and running past `timeout` seconds, raise.
        """
        reconnects = Reconnects(self._backoff, timeout)
        while True:
            error: VeilsyncError | None = None
            try:
                watch = jobs.watch_progress(self.id)
                for progress in self._t.stream(watch, reconnects.remaining()):
                    reconnects.progressed()
                    if on_progress is not None:
                        on_progress(progress)
                    if is_final(progress):
                        return self.refresh()
            except VeilsyncError as err:
                error = err
            time.sleep(reconnects.delay_after(error))


class Connections(SubClient[_Transport]):
    def create(self, name: str, url: str) -> connection_pb2.Connection:
        return self._t.invoke(connections.create_connection(name, url))

    def get(self, connection: ConnectionLike) -> connection_pb2.Connection:
        return self._t.invoke(connections.get_connection(connection))

    def schema(
        self, connection: ConnectionLike, exact_row_counts: bool = False
    ) -> list[connection_pb2.TableSchema]:
        return self._t.invoke(connections.connection_schema(connection, exact_row_counts))

    def list(self) -> Iterator[connection_pb2.Connection]:
        return self._t.paged(connections.list_connections())

    def update(self, connection: ConnectionLike, url: str) -> connection_pb2.Connection:
        return self._t.invoke(connections.update_connection(connection, url))

    def delete(self, connection: ConnectionLike) -> None:
        self._t.invoke(connections.delete_connection(connection))

    def check(
        self,
        connection: ConnectionLike | None = None,
        *,
        url: str | None = None,
        role: ConnectionRole = connection_pb2.CONNECTION_ROLE_UNSPECIFIED,
    ) -> connection_pb2.CheckConnectionResponse:
        return self._t.invoke(connections.check_connection(connection, url=url, role=role))


class Jobs(SubClient[_Transport]):
    def create(
        self, job: JobSpec, *, transform_key: str = "", hook_secret: str = ""
    ) -> job_pb2.Job:
        return self._t.invoke(
            jobs.create_job(job, transform_key=transform_key, hook_secret=hook_secret)
        )

    def get(self, job: JobLike, *, effective: bool = False) -> job_pb2.Job:
        return self._t.invoke(jobs.get_job(job, effective))

    def list(self) -> Iterator[job_pb2.Job]:
        return self._t.paged(jobs.list_jobs())

    def update(
        self, job: JobLike, update: JobSpec, fields: Sequence[str] = (), hook_secret: str = ""
    ) -> job_pb2.Job:
        return self._t.invoke(jobs.update_job(job, update, fields, hook_secret))

    def delete(self, job: JobLike) -> None:
        self._t.invoke(jobs.delete_job(job))

    def pause(self, job: JobLike) -> job_pb2.Job:
        return self._t.invoke(jobs.pause_job(job))

    def resume(self, job: JobLike) -> job_pb2.Job:
        return self._t.invoke(jobs.resume_job(job))

    def validate(
        self, job: JobLike | None = None, *, spec: JobSpec | None = None
    ) -> job_pb2.ValidateJobResponse:
        return self._t.invoke(jobs.validate_job(job, spec=spec))

    def run(self, job: JobLike) -> Run:
        """Start a run now; `.wait()` on the result follows it to the end."""
        return Run(self._t, self._t.invoke(jobs.trigger_run(job)), self._backoff)

    def runs(
        self, job: JobLike, status: "job_pb2.RunStatus.ValueType" = job_pb2.RUN_STATUS_UNSPECIFIED
    ) -> Iterator[Run]:
        """The job's runs, newest first, optionally only those in one status."""
        for run in self._t.paged(jobs.list_runs(job, status)):
            yield Run(self._t, run, self._backoff)


class Runs(SubClient[_Transport]):
    def get(self, run_id: str) -> Run:
        return Run(self._t, self._t.invoke(jobs.get_run(run_id)), self._backoff)

    def wait(
        self, run_id: str, on_progress: OnProgress | None = None, *, timeout: float | None = None
    ) -> job_pb2.JobRun:
        return Run(self._t, job_pb2.JobRun(id=run_id), self._backoff).wait(
            on_progress, timeout=timeout
        )


class Models(SubClient[_Transport]):
    def train(
        self,
        name: str,
        *,
        kind: "model_pb2.ModelKind.ValueType",
        source_connection: str,
        table: str,
        options: model_pb2.TrainingOptions | None = None,
    ) -> model_pb2.Model:
        call = models.train_model(
            name, kind=kind, source_connection=source_connection, table=table, options=options
        )
        return self._t.invoke(call)

    def upload(
        self,
        name: str,
        model_file: str | Path | bytes,
        *,
        format: "model_pb2.ModelFormat.ValueType",
        columns: Mapping[str, str] | Sequence[model_pb2.ModelColumn],
    ) -> model_pb2.Model:
        """Upload a TorchScript or ONNX model; columns as {"name": "integer"|"float"|...}."""
        return self._t.invoke(models.upload_model(name, model_file, format=format, columns=columns))

    def get(self, model: ModelLike) -> model_pb2.Model:
        return self._t.invoke(models.get_model(model))

    def list(self) -> Iterator[model_pb2.Model]:
        return self._t.paged(models.list_models())

    def delete(self, model: ModelLike) -> None:
        self._t.invoke(models.delete_model(model))

    def quality(self, model: ModelLike) -> model_pb2.ModelQuality:
        return self._t.invoke(models.model_quality(model))

    def sample(
        self, model: ModelLike, rows: int, *, seed: int = 0, into: tuple[str, str] | None = None
    ) -> SampleResult:
        """Write rows into (connection, table), or return them as a preview when into is None."""
        return self._t.invoke(models.sample_model(model, rows, seed=seed, into=into))


class Transformers(SubClient[_Transport]):
    def system(self) -> list[transformer_pb2.SystemTransformer]:
        return self._t.invoke(transformers.system_transformers())

    def preview(
        self, config: TransformerSpec, values: Sequence[str], key: str = ""
    ) -> list[str | None]:
        return self._t.invoke(transformers.preview_transform(config, values, key))

    def suggest(
        self, connection: ConnectionLike, sample_rows: int = 0
    ) -> transformer_pb2.SuggestTransformersResponse:
        return self._t.invoke(transformers.suggest_transformers(connection, sample_rows))

    def create(
        self, name: str, config: TransformerSpec, description: str = ""
    ) -> transformer_pb2.UserDefinedTransformer:
        return self._t.invoke(transformers.create_transformer(name, config, description))

    def get(self, name: str) -> transformer_pb2.UserDefinedTransformer:
        return self._t.invoke(transformers.get_transformer(name))

    def list(self) -> Iterator[transformer_pb2.UserDefinedTransformer]:
        return self._t.paged(transformers.list_transformers())

    def update(
        self, name: str, config: TransformerSpec, description: str = ""
    ) -> transformer_pb2.UserDefinedTransformer:
        return self._t.invoke(transformers.update_transformer(name, config, description))

    def delete(self, name: str) -> None:
        self._t.invoke(transformers.delete_transformer(name))


class Client(ClientBase[_Transport]):
    """A connection to the Veilsync API. Use it as a context manager, or call close().

    address and api_key default to $VEILSYNC_API and $VEILSYNC_API_KEY; see ClientBase.
    """

    def _connect(self, target: Target, timeout_s: float, long_timeout_s: float) -> _Transport:
        return _Transport(target.channel(), target, timeout_s, long_timeout_s)

    def _attach(self, transport: _Transport, backoff: Backoff) -> None:
        self.connections = Connections(transport, backoff)
        self.jobs = Jobs(transport, backoff)
        self.runs = Runs(transport, backoff)
        self.models = Models(transport, backoff)
        self.transformers = Transformers(transport, backoff)

    def close(self) -> None:
        self._transport.channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
