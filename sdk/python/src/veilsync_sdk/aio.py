"""The asyncio client: `AsyncClient` mirrors `Client` method for method, awaited.

Requests, responses, errors and reconnect decisions come from the same modules as the sync
client's (calls, errors, reconnect); only the sending differs. Create it inside a running
event loop: `async with AsyncClient(...) as client:`.
"""

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
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
# A plain function or a coroutine function; a coroutine is awaited before the next message.
OnProgress = Callable[[job_pb2.JobRunProgress], object]


class _Transport(TransportBase[grpc.aio.Channel]):
    async def invoke(self, call: Call[T]) -> T:
        try:
            response = await call.rpc(self._stubs)(
                call.request, timeout=self._timeout(call), metadata=self._metadata
            )
        except grpc.RpcError as err:
            raise from_rpc_error(err) from err
        return call.result(response)

    async def paged(self, paged: Paged[T]) -> AsyncIterator[T]:
        token = ""
        while True:
            items, token = await self.invoke(paged.page(token))
            for item in items:
                yield item
            if not token:
                return

    async def stream(self, call: Call[T], timeout_s: float | None) -> AsyncIterator[T]:
        responses = call.rpc(self._stubs)(call.request, timeout=timeout_s, metadata=self._metadata)
        try:
            async for response in responses:
                yield call.result(response)
        except grpc.RpcError as err:
            raise from_rpc_error(err) from err
        finally:
            responses.cancel()


class AsyncRun(RunBase[_Transport]):
    """Client.jobs.run's Run, for asyncio."""

    async def refresh(self) -> job_pb2.JobRun:
        self.run = await self._t.invoke(jobs.get_run(self.id))
        return self.run

    async def progress(self) -> job_pb2.JobRunProgress:
        return await self._t.invoke(jobs.run_progress(self.id))

    async def events(self) -> list[job_pb2.TableEvent]:
        return await self._t.invoke(jobs.run_events(self.id))

    async def cancel(self) -> None:
        await self._t.invoke(jobs.cancel_run(self.id))

    async def terminate(self, reason: str = "") -> None:
        await self._t.invoke(jobs.terminate_run(self.id, reason))

    async def wait(
        self, on_progress: OnProgress | None = None, *, timeout: float | None = None
    ) -> job_pb2.JobRun:
        """Run.wait, awaited."""
        reconnects = Reconnects(self._backoff, timeout)
        while True:
            error: VeilsyncError | None = None
            try:
                watch = jobs.watch_progress(self.id)
                async for progress in self._t.stream(watch, reconnects.remaining()):
                    reconnects.progressed()
                    if on_progress is not None:
                        reported = on_progress(progress)
                        if inspect.isawaitable(reported):
                            await reported
                    if is_final(progress):
                        return await self.refresh()
            except VeilsyncError as err:
                error = err
            await asyncio.sleep(reconnects.delay_after(error))


class AsyncConnections(SubClient[_Transport]):
    async def create(self, name: str, url: str) -> connection_pb2.Connection:
        return await self._t.invoke(connections.create_connection(name, url))

    async def get(self, connection: ConnectionLike) -> connection_pb2.Connection:
        return await self._t.invoke(connections.get_connection(connection))

    async def schema(
        self, connection: ConnectionLike, exact_row_counts: bool = False
    ) -> list[connection_pb2.TableSchema]:
        return await self._t.invoke(connections.connection_schema(connection, exact_row_counts))

    def list(self) -> AsyncIterator[connection_pb2.Connection]:
        return self._t.paged(connections.list_connections())

    async def update(self, connection: ConnectionLike, url: str) -> connection_pb2.Connection:
        return await self._t.invoke(connections.update_connection(connection, url))

    async def delete(self, connection: ConnectionLike) -> None:
        await self._t.invoke(connections.delete_connection(connection))

    async def check(
        self,
        connection: ConnectionLike | None = None,
        *,
        url: str | None = None,
        role: ConnectionRole = connection_pb2.CONNECTION_ROLE_UNSPECIFIED,
    ) -> connection_pb2.CheckConnectionResponse:
        return await self._t.invoke(connections.check_connection(connection, url=url, role=role))


class AsyncJobs(SubClient[_Transport]):
    async def create(
        self, job: JobSpec, *, transform_key: str = "", hook_secret: str = ""
    ) -> job_pb2.Job:
        return await self._t.invoke(
            jobs.create_job(job, transform_key=transform_key, hook_secret=hook_secret)
        )

    async def get(self, job: JobLike, *, effective: bool = False) -> job_pb2.Job:
        return await self._t.invoke(jobs.get_job(job, effective))

    def list(self) -> AsyncIterator[job_pb2.Job]:
        return self._t.paged(jobs.list_jobs())

    async def update(
        self, job: JobLike, update: JobSpec, fields: Sequence[str] = (), hook_secret: str = ""
    ) -> job_pb2.Job:
        return await self._t.invoke(jobs.update_job(job, update, fields, hook_secret))

    async def delete(self, job: JobLike) -> None:
        await self._t.invoke(jobs.delete_job(job))

    async def pause(self, job: JobLike) -> job_pb2.Job:
        return await self._t.invoke(jobs.pause_job(job))

    async def resume(self, job: JobLike) -> job_pb2.Job:
        return await self._t.invoke(jobs.resume_job(job))

    async def validate(
        self, job: JobLike | None = None, *, spec: JobSpec | None = None
    ) -> job_pb2.ValidateJobResponse:
        return await self._t.invoke(jobs.validate_job(job, spec=spec))

    async def run(self, job: JobLike) -> AsyncRun:
        return AsyncRun(self._t, await self._t.invoke(jobs.trigger_run(job)), self._backoff)

    async def runs(
        self, job: JobLike, status: "job_pb2.RunStatus.ValueType" = job_pb2.RUN_STATUS_UNSPECIFIED
    ) -> AsyncIterator[AsyncRun]:
        async for run in self._t.paged(jobs.list_runs(job, status)):
            yield AsyncRun(self._t, run, self._backoff)


class AsyncRuns(SubClient[_Transport]):
    async def get(self, run_id: str) -> AsyncRun:
        return AsyncRun(self._t, await self._t.invoke(jobs.get_run(run_id)), self._backoff)

    async def wait(
        self, run_id: str, on_progress: OnProgress | None = None, *, timeout: float | None = None
    ) -> job_pb2.JobRun:
        run = AsyncRun(self._t, job_pb2.JobRun(id=run_id), self._backoff)
        return await run.wait(on_progress, timeout=timeout)


class AsyncModels(SubClient[_Transport]):
    async def train(
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
        return await self._t.invoke(call)

    async def upload(
        self,
        name: str,
        model_file: str | Path | bytes,
        *,
        format: "model_pb2.ModelFormat.ValueType",
        columns: Mapping[str, str] | Sequence[model_pb2.ModelColumn],
    ) -> model_pb2.Model:
        call = models.upload_model(name, model_file, format=format, columns=columns)
        return await self._t.invoke(call)

    async def get(self, model: ModelLike) -> model_pb2.Model:
        return await self._t.invoke(models.get_model(model))

    def list(self) -> AsyncIterator[model_pb2.Model]:
        return self._t.paged(models.list_models())

    async def delete(self, model: ModelLike) -> None:
        await self._t.invoke(models.delete_model(model))

    async def quality(self, model: ModelLike) -> model_pb2.ModelQuality:
        return await self._t.invoke(models.model_quality(model))

    async def sample(
        self, model: ModelLike, rows: int, *, seed: int = 0, into: tuple[str, str] | None = None
    ) -> SampleResult:
        return await self._t.invoke(models.sample_model(model, rows, seed=seed, into=into))


class AsyncTransformers(SubClient[_Transport]):
    async def system(self) -> list[transformer_pb2.SystemTransformer]:
        return await self._t.invoke(transformers.system_transformers())

    async def preview(
        self, config: TransformerSpec, values: Sequence[str], key: str = ""
    ) -> list[str | None]:
        return await self._t.invoke(transformers.preview_transform(config, values, key))

    async def suggest(
        self, connection: ConnectionLike, sample_rows: int = 0
    ) -> transformer_pb2.SuggestTransformersResponse:
        return await self._t.invoke(transformers.suggest_transformers(connection, sample_rows))

    async def create(
        self, name: str, config: TransformerSpec, description: str = ""
    ) -> transformer_pb2.UserDefinedTransformer:
        return await self._t.invoke(transformers.create_transformer(name, config, description))

    async def get(self, name: str) -> transformer_pb2.UserDefinedTransformer:
        return await self._t.invoke(transformers.get_transformer(name))

    def list(self) -> AsyncIterator[transformer_pb2.UserDefinedTransformer]:
        return self._t.paged(transformers.list_transformers())

    async def update(
        self, name: str, config: TransformerSpec, description: str = ""
    ) -> transformer_pb2.UserDefinedTransformer:
        return await self._t.invoke(transformers.update_transformer(name, config, description))

    async def delete(self, name: str) -> None:
        await self._t.invoke(transformers.delete_transformer(name))


class AsyncClient(ClientBase[_Transport]):
    """Client for asyncio, with the same arguments; `async with` it, or await close()."""

    def _connect(self, target: Target, timeout_s: float, long_timeout_s: float) -> _Transport:
        return _Transport(target.aio_channel(), target, timeout_s, long_timeout_s)

    def _attach(self, transport: _Transport, backoff: Backoff) -> None:
        self.connections = AsyncConnections(transport, backoff)
        self.jobs = AsyncJobs(transport, backoff)
        self.runs = AsyncRuns(transport, backoff)
        self.models = AsyncModels(transport, backoff)
        self.transformers = AsyncTransformers(transport, backoff)

    async def close(self) -> None:
        await self._transport.channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
