"""Composition root of the API: every servicer built with its ports, on one server."""

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from temporalio.client import Client

from services.api.errors import DomainErrorInterceptor
from services.api.runs import RunControl
from services.api.servicers.connections import ConnectionServicer
from services.api.servicers.jobs import JobServicer
from services.api.servicers.transformers import TransformerServicer
from services.common.settings import Settings
from services.common.store.store import MetadataStore
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

SERVICE_NAMES = [
    connection_pb2.DESCRIPTOR.services_by_name["ConnectionService"].full_name,
    job_pb2.DESCRIPTOR.services_by_name["JobService"].full_name,
    transformer_pb2.DESCRIPTOR.services_by_name["TransformerService"].full_name,
    model_pb2.DESCRIPTOR.services_by_name["ModelService"].full_name,
]


async def build_server(
    settings: Settings, store: MetadataStore, temporal_client: Client
) -> grpc.aio.Server:
    """The API server bound to settings.api, not started."""
    server = grpc.aio.server(interceptors=[DomainErrorInterceptor()])
    connection_pb2_grpc.add_ConnectionServiceServicer_to_server(ConnectionServicer(store), server)
    job_pb2_grpc.add_JobServiceServicer_to_server(
        JobServicer(store, RunControl(temporal_client)), server
    )
    transformer_pb2_grpc.add_TransformerServiceServicer_to_server(TransformerServicer(), server)
    # The generated base answers UNIMPLEMENTED until the ML worker lands; its stub marks the
    # methods abstract, though at run time each one is defined.
    models = model_pb2_grpc.ModelServiceServicer()  # type: ignore[abstract]
    model_pb2_grpc.add_ModelServiceServicer_to_server(models, server)

    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ["", *SERVICE_NAMES]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        [*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )

    if server.add_insecure_port(settings.api) == 0:
        raise OSError(f"cannot bind the API to {settings.api}")
    return server
