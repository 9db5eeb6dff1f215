"""The rich error details a gRPC status may carry (`grpc-status-details-bin`), read with
protobuf alone.

The server packs a `google.rpc.Status` with a `google.rpc.BadRequest` for invalid arguments.
Their classes ship in googleapis-common-protos, which this package does not depend on, so the
two messages are declared here from their public definitions, in a pool of their own: a
process that also imports googleapis-common-protos keeps its own copies untouched.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory

DETAILS_KEY = "grpc-status-details-bin"
BAD_REQUEST_TYPE = "google.rpc.BadRequest"

_F = descriptor_pb2.FieldDescriptorProto


def _scalar(
    message: descriptor_pb2.DescriptorProto, name: str, number: int, kind: "_F.Type.ValueType"
) -> None:
    message.field.add(name=name, number=number, type=kind, label=_F.LABEL_OPTIONAL)


def _repeated(message: descriptor_pb2.DescriptorProto, name: str, number: int, of: str) -> None:
    message.field.add(
        name=name, number=number, type=_F.TYPE_MESSAGE, label=_F.LABEL_REPEATED, type_name=of
    )


def _rpc_file() -> descriptor_pb2.FileDescriptorProto:
    rpc = descriptor_pb2.FileDescriptorProto(
        name="veilsync_sdk/google_rpc.proto",
        package="google.rpc",
        syntax="proto3",
        dependency=["google/protobuf/any.proto"],
    )
    status = rpc.message_type.add(name="Status")
    _scalar(status, "code", 1, _F.TYPE_INT32)
    _scalar(status, "message", 2, _F.TYPE_STRING)
    _repeated(status, "details", 3, ".google.protobuf.Any")
    bad_request = rpc.message_type.add(name="BadRequest")
    violation = bad_request.nested_type.add(name="FieldViolation")
    _scalar(violation, "field", 1, _F.TYPE_STRING)
    _scalar(violation, "description", 2, _F.TYPE_STRING)
    _repeated(bad_request, "field_violations", 1, ".google.rpc.BadRequest.FieldViolation")
    return rpc


def _message_classes() -> tuple[Any, Any]:
    pool = descriptor_pool.DescriptorPool()
    any_file = descriptor_pb2.FileDescriptorProto()
    any_pb2.DESCRIPTOR.CopyToProto(any_file)
    pool.Add(any_file)
    pool.Add(_rpc_file())
    return (
        message_factory.GetMessageClass(pool.FindMessageTypeByName("google.rpc.Status")),
        message_factory.GetMessageClass(pool.FindMessageTypeByName("google.rpc.BadRequest")),
    )


_Status, _BadRequest = _message_classes()


@dataclass(frozen=True)
class FieldViolation:
    """One request field the server refused, such as "job.name" and why."""

    field: str
    description: str


def status_details(trailing_metadata: Iterable[tuple[str, Any]] | None) -> tuple[any_pb2.Any, ...]:
    """The details of the status in these trailers, packed as they came; () when none."""
    for key, value in trailing_metadata or ():
        if key == DETAILS_KEY and isinstance(value, bytes):
            status = _Status.FromString(value)
            return tuple(any_pb2.Any(type_url=d.type_url, value=d.value) for d in status.details)
    return ()


def field_violations(details: Iterable[any_pb2.Any]) -> tuple[FieldViolation, ...]:
    """Every field violation of the BadRequest details among these."""
    found: list[FieldViolation] = []
    for detail in details:
        if detail.type_url.rpartition("/")[2] == BAD_REQUEST_TYPE:
            bad_request = _BadRequest.FromString(detail.value)
            found.extend(
                FieldViolation(v.field, v.description) for v in bad_request.field_violations
            )
    return tuple(found)
