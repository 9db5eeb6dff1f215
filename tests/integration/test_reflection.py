"""Server reflection answers under v1 (current grpcurl, Postman) and v1alpha, without a key."""

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2

from tests.integration.conftest import Api

# v1 and v1alpha are the same messages field for field, so v1alpha's classes encode both.
PROTOCOLS = ["grpc.reflection.v1", "grpc.reflection.v1alpha"]


async def _ask(
    api: Api, protocol: str, request: reflection_pb2.ServerReflectionRequest
) -> reflection_pb2.ServerReflectionResponse:
    async with grpc.aio.insecure_channel(api.settings.api) as channel:  # no API key
        info = channel.stream_stream(
            f"/{protocol}.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        replies = [reply async for reply in info(iter([request]))]
    assert len(replies) == 1, replies
    return replies[0]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_reflection_lists_the_services(api: Api, protocol: str) -> None:
    reply = await _ask(api, protocol, reflection_pb2.ServerReflectionRequest(list_services=""))
    services = {service.name for service in reply.list_services_response.service}
    assert {
        "veilsync.v1.AccountService",
        "veilsync.v1.ConnectionService",
        "veilsync.v1.JobService",
        "veilsync.v1.TransformerService",
        "veilsync.v1.ModelService",
        "grpc.health.v1.Health",
        *(f"{name}.ServerReflection" for name in PROTOCOLS),
    } == services


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    ("symbol", "file"),
    [
        ("veilsync.v1.JobService", "veilsync/v1/job.proto"),
        ("grpc.reflection.v1.ServerReflection", "grpc/reflection/v1/reflection.proto"),
    ],
)
async def test_reflection_describes_a_service(
    api: Api, protocol: str, symbol: str, file: str
) -> None:
    request = reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol)
    reply = await _ask(api, protocol, request)
    assert reply.WhichOneof("message_response") == "file_descriptor_response", reply
    names = {
        descriptor_pb2.FileDescriptorProto.FromString(proto).name
        for proto in reply.file_descriptor_response.file_descriptor_proto
    }
    assert file in names
