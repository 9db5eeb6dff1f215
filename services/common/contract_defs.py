"""What protoc-gen-veilsync_temporal generates into services/contract from the Temporal contract
(proto/veilsync/temporal/v1/*_worker.proto): each workflow, activity, query and signal by its
name, its one input type and its one output type, with the calls that use them. Workflows,
workers and the API refer to these definitions, never to a name string. Temporal is imported
where it is called, so that reading a name costs no temporalio import (the CLI reads settings)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from string import Formatter
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from google.protobuf.message import Message

if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowHandle
    from temporalio.common import RetryPolicy

In = TypeVar("In", bound=Message)
Out = TypeVar("Out", bound=Message)


@dataclass(frozen=True)
class QueryDef(Generic[In, Out]):
    """A query of running workflows."""

    name: str
    input: type[In]
    output: type[Out]

    async def query(
        self, handle: WorkflowHandle[Any, Any], request: In, rpc_timeout: timedelta | None = None
    ) -> Out:
        result: Out = await handle.query(
            self.name, request, result_type=self.output, rpc_timeout=rpc_timeout
        )
        return result


@dataclass(frozen=True)
class SignalDef(Generic[In]):
    """A signal to running workflows; it returns nothing."""

    name: str
    input: type[In]

    async def signal(self, handle: WorkflowHandle[Any, Any], request: In) -> None:
        await handle.signal(self.name, request)


@dataclass(frozen=True)
class WorkflowDef(Generic[In, Out]):
    """A workflow type, the task queue its workers poll by default, and the id its runs take
    from their input when `id_template` is set."""

    name: str
    task_queue: str
    input: type[In]
    output: type[Out]
    id_template: str = ""
    queries: tuple[QueryDef[Any, Any], ...] = ()
    signals: tuple[SignalDef[Any], ...] = ()

    def workflow_id(self, request: In) -> str:
        """The id from the template's fields of `request`."""
        fields = [field for _, field, _, _ in Formatter().parse(self.id_template) if field]
        return self.id_template.format_map({field: getattr(request, field) for field in fields})

    async def start(
        self, client: Client, request: In, *, id: str, task_queue: str = "", **options: Any
    ) -> WorkflowHandle[Any, Out]:
        """Start a run; `options` are Client.start_workflow's."""
        return await client.start_workflow(
            self.name,
            request,
            id=id,
            task_queue=task_queue or self.task_queue,
            result_type=self.output,
            **options,
        )

    async def execute(
        self, client: Client, request: In, *, id: str, task_queue: str = "", **options: Any
    ) -> Out:
        """Start a run and wait for its result."""
        handle = await self.start(client, request, id=id, task_queue=task_queue, **options)
        return await handle.result()

    async def execute_child(self, request: In, *, id: str, task_queue: str = "") -> Out:
        """Run as a child of the calling workflow and wait for its result (workflow code)."""
        from temporalio import workflow

        result: Out = await workflow.execute_child_workflow(
            self.name,
            request,
            id=id,
            task_queue=task_queue or self.task_queue,
            result_type=self.output,
        )
        return result


@dataclass(frozen=True)
class ActivityDef(Generic[In, Out]):
    """An activity type; `tables` names the tables ("schema.table") that an activity writing
    tables works on, from its input."""

    name: str
    input: type[In]
    output: type[Out]
    tables: Callable[[In], list[str]] | None = None

    async def execute(
        self,
        request: In,
        *,
        start_to_close_timeout: timedelta,
        heartbeat_timeout: timedelta | None = None,
        retry_policy: RetryPolicy | None = None,
        task_queue: str | None = None,
    ) -> Out:
        """Schedule the activity and wait for its result (workflow code); on the workflow's
        own task queue unless `task_queue` names the queue of a worker serving it."""
        from temporalio import workflow

        result: Out = await workflow.execute_activity(
            self.name,
            request,
            task_queue=task_queue,
            result_type=self.output,
            start_to_close_timeout=start_to_close_timeout,
            heartbeat_timeout=heartbeat_timeout,
            retry_policy=retry_policy,
        )
        return result
