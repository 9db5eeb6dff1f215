"""Malformed requests to every RPC over a real channel: never INTERNAL or UNKNOWN, and a
failed request writes nothing to the store."""

from typing import Any

import grpc
import sqlalchemy as sa
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import Api
from veilsync.v1 import account_pb2, connection_pb2, job_pb2

SERVICES = [
    ("accounts", account_pb2.DESCRIPTOR.services_by_name["AccountService"]),
    ("connections", connection_pb2.DESCRIPTOR.services_by_name["ConnectionService"]),
    ("jobs", job_pb2.DESCRIPTOR.services_by_name["JobService"]),
]
METHODS = [(stub, method) for stub, service in SERVICES for method in service.methods]
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["", "run-x", "sqlite:///", "postgresql://h:99999/x", "* * *", "http://[", "a" * 300]
)
_SCALARS: dict[int, st.SearchStrategy[Any]] = {
    FieldDescriptor.TYPE_STRING: TEXT,
    FieldDescriptor.TYPE_BOOL: st.booleans(),
    FieldDescriptor.TYPE_INT32: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: st.integers(-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_ENUM: st.integers(-5, 99),
    FieldDescriptor.TYPE_DOUBLE: st.floats(allow_nan=True),
}


def message_of(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        if field.message_type is not None:
            if depth >= 2 or field.message_type.GetOptions().map_entry:
                continue
            value: st.SearchStrategy[Any] = message_of(field.message_type, depth + 1)
        elif field.type in _SCALARS:
            value = _SCALARS[field.type]
        else:
            continue
        fields[field.name] = st.lists(value, max_size=2) if field.is_repeated else value
    return st.fixed_dictionaries({}, optional=fields)


def build(cls: type[Message], values: dict[str, Any]) -> Message:
    message = cls()
    for name, value in values.items():
        field = cls.DESCRIPTOR.fields_by_name[name]
        target = getattr(message, name) if field.message_type is not None else None
        try:
            if field.message_type is not None and field.is_repeated:
                for item in value:
                    target.add().CopyFrom(build(type(target.add()), item))
                    del target[-1]
            elif field.message_type is not None:
                target.CopyFrom(build(type(target), value))
            elif field.is_repeated:
                getattr(message, name).extend(value)
            else:
                setattr(message, name, value)
        except (ValueError, TypeError):
            continue  # a value the message type itself refuses never reaches the wire
    return message


def store_rows(api: Api) -> dict[str, int]:
    engine = sa.create_engine(f"sqlite:///{api.settings.data_dir / 'metadata.db'}")
    try:
        with engine.connect() as conn:
            tables = [
                t
                for (t,) in conn.execute(
                    sa.text("SELECT name FROM sqlite_master WHERE type='table'")
                )
            ]
            return {
                t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables
            }
    finally:
        engine.dispose()


CALLS = st.sampled_from(METHODS).flatmap(
    lambda m: st.tuples(st.just(m), message_of(m[1].input_type))
)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(call=CALLS)
async def test_malformed_requests_get_precise_errors(api: Api, call: Any) -> None:
    (stub_name, method), values = call
    from veilsync.v1 import account_pb2 as _a
    from veilsync.v1 import connection_pb2 as _c
    from veilsync.v1 import job_pb2 as _j

    module = {"accounts": _a, "connections": _c, "jobs": _j}[stub_name]
    request = build(getattr(module, method.input_type.name), values)
    stub = getattr(api, stub_name)
    before = store_rows(api)
    try:
        if method.server_streaming:
            async for _ in getattr(stub, method.name)(request, timeout=5):
                break
        else:
            await getattr(stub, method.name)(request, timeout=10)
    except grpc.aio.AioRpcError as err:
        assert err.code() not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), (
            method.name,
            request,
            err.details(),
        )
        assert store_rows(api) == before, (method.name, request)
