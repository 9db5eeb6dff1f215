"""A short-lived connection to the Veilsync API with its service stubs."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import grpc

from services.cli.errors import from_rpc_error
from veilsync.v1 import connection_pb2_grpc, job_pb2_grpc, transformer_pb2_grpc

# Long enough for CreateJob to inspect a source schema, short enough that a hung server
# does not hang a script.
DEFAULT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Api:
    """Stubs on one channel; every call should pass timeout=DEFAULT_TIMEOUT_S or its own."""

    address: str
    connections: connection_pb2_grpc.ConnectionServiceStub
    jobs: job_pb2_grpc.JobServiceStub
    transformers: transformer_pb2_grpc.TransformerServiceStub


@contextmanager
def open_api(address: str) -> Iterator[Api]:
    """The API at `address`; a grpc.RpcError raised inside becomes a CliError.

    The channel is closed on the way out: a channel left to the garbage collector at
    interpreter exit can abort the process once grpc and temporalio are both imported.
    """
    with grpc.insecure_channel(address) as channel:
        api = Api(
            address=address,
            connections=connection_pb2_grpc.ConnectionServiceStub(channel),
            jobs=job_pb2_grpc.JobServiceStub(channel),
            transformers=transformer_pb2_grpc.TransformerServiceStub(channel),
        )
        try:
            yield api
        except grpc.RpcError as err:
            raise from_rpc_error(err, address) from err
