"""What every call is made of: the stubs, a call as data, pages, and how objects are named."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

from veilsync.v1 import (
    connection_pb2,
    connection_pb2_grpc,
    job_pb2,
    job_pb2_grpc,
    model_pb2,
    model_pb2_grpc,
    transformer_pb2,
    transformer_pb2_grpc,
)

T = TypeVar("T")
MessageT = TypeVar("MessageT", bound=Message)
RefT = TypeVar("RefT", connection_pb2.ConnectionRef, job_pb2.JobRef)

PAGE_SIZE = 1000

ConnectionRole: TypeAlias = "connection_pb2.ConnectionRole.ValueType"
# A string names the object; a message (a Connection or Job as returned) or a *Ref names it
# however that says (a Connection's or Job's id).
ConnectionLike = str | connection_pb2.Connection | connection_pb2.ConnectionRef
JobLike = str | job_pb2.Job | job_pb2.JobRef
# Models are addressed by id only; a Model message stands for its id.
ModelLike = str | model_pb2.Model
# A job as a message, or as its proto3 JSON mapping (a parsed job file).
JobSpec = job_pb2.Job | Mapping[str, Any]
TransformerSpec = transformer_pb2.TransformerConfig | Mapping[str, Any]


@dataclass(frozen=True)
class Stubs:
    """The generated stubs on one channel, sync or asyncio alike."""

    connections: connection_pb2_grpc.ConnectionServiceStub
    jobs: job_pb2_grpc.JobServiceStub
    models: model_pb2_grpc.ModelServiceStub
    transformers: transformer_pb2_grpc.TransformerServiceStub

    @classmethod
    def on(cls, channel: Any) -> "Stubs":
        return cls(
            connection_pb2_grpc.ConnectionServiceStub(channel),
            job_pb2_grpc.JobServiceStub(channel),
            model_pb2_grpc.ModelServiceStub(channel),
            transformer_pb2_grpc.TransformerServiceStub(channel),
        )


@dataclass(frozen=True)
class Call(Generic[T]):
    """One RPC: the stub method, the request, and the part of the response returned."""

    rpc: Callable[[Stubs], Any]
    request: Any
    result: Callable[[Any], T]
    # Calls that wait on a worker (uploads, sampling) get the client's long timeout.
    long: bool = False


@dataclass(frozen=True)
class Paged(Generic[T]):
    """A List* RPC: the call for the page at a token gives its items and the next token."""

    page: Callable[[str], Call[tuple[Sequence[T], str]]]


def page_of(
    rpc: Callable[[Stubs], Any], request: Callable[[str], Any], items: Callable[[Any], Sequence[T]]
) -> Paged[T]:
    return Paged(lambda token: Call(rpc, request(token), lambda r: (items(r), r.next_page_token)))


# --- references -----------------------------------------------------------------------------


def connection_ref(connection: ConnectionLike) -> connection_pb2.ConnectionRef:
    return _ref(connection, connection_pb2.ConnectionRef)


def job_ref(job: JobLike) -> job_pb2.JobRef:
    return _ref(job, job_pb2.JobRef)


def _ref(named: Any, ref: type[RefT]) -> RefT:
    """The ref itself, a string's name, or the id of a message as returned."""
    if isinstance(named, ref):
        return named
    if isinstance(named, str):
        return ref(name=named)
    return ref(id=named.id)


def model_id(model: ModelLike) -> str:
    return model.id if isinstance(model, model_pb2.Model) else model


def job_message(job: JobSpec) -> job_pb2.Job:
    """A job message from itself or from its proto3 JSON mapping (unknown fields refused)."""
    return _message(job, job_pb2.Job)


def transformer_config(config: TransformerSpec) -> transformer_pb2.TransformerConfig:
    return _message(config, transformer_pb2.TransformerConfig)


def _message(spec: MessageT | Mapping[str, Any], message: type[MessageT]) -> MessageT:
    if isinstance(spec, Mapping):
        return json_format.ParseDict(dict(spec), message())
    return spec
