"""Composition root of the API: every servicer built with its ports, on one server."""

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from opentelemetry import trace
from temporalio.client import Client

from services.api.auth import AuthInterceptor
from services.api.errors import DomainErrorInterceptor
from services.api.jobs import JobControl
from services.api.observability import ObservabilityInterceptor
from services.api.reflection import enable_reflection
from services.api.runs import RunControl
from services.api.schedules import ScheduleControl
from services.api.search_attributes import ensure_search_attributes
from services.api.servicers.accounts import AccountServicer
from services.api.servicers.connections import ConnectionServicer
from services.api.servicers.jobs import JobServicer
from services.api.servicers.models import build_model_servicer
from services.api.servicers.transformers import TransformerServicer
from services.common.settings import Settings
from services.common.store.store import MetadataStore
from services.common.tls import api_server_credentials
from veilsync.v1 import (
    account_pb2,
    account_pb2_grpc,
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
    account_pb2.DESCRIPTOR.services_by_name["AccountService"].full_name,
    connection_pb2.DESCRIPTOR.services_by_name["ConnectionService"].full_name,
    job_pb2.DESCRIPTOR.services_by_name["JobService"].full_name,
    transformer_pb2.DESCRIPTOR.services_by_name["TransformerService"].full_name,
    model_pb2.DESCRIPTOR.services_by_name["ModelService"].full_name,
]


async def build_server(
    settings: Settings,
    store: MetadataStore,
    temporal_client: Client,
    tracer: trace.Tracer | None = None,
) -> grpc.aio.Server:
    """The API server bound to settings.api, not started. `tracer`: the global one unless
    given (tests give their own, with an in-memory exporter)."""
    await ensure_search_attributes(temporal_client.operator_service, temporal_client.namespace)
    # The error interceptor is outermost, so an authentication refusal passes through it.
    server = grpc.aio.server(
        interceptors=[
            # Outermost of all: it sees the code the error interceptor chose, and the account.
            ObservabilityInterceptor(tracer),
            DomainErrorInterceptor(),
            AuthInterceptor(store.api_keys),
        ],
        options=[("grpc.max_receive_message_length", settings.grpc_message_bytes())],
    )
    runs = RunControl(temporal_client, settings.sync_task_queue)
    schedules = ScheduleControl(temporal_client, settings.sync_task_queue)
    account_pb2_grpc.add_AccountServiceServicer_to_server(AccountServicer(store.api_keys), server)
    connection_pb2_grpc.add_ConnectionServiceServicer_to_server(
        ConnectionServicer(store, settings.allow_local_url_options), server
    )
    job_pb2_grpc.add_JobServiceServicer_to_server(
        JobServicer(
            JobControl(store, runs, schedules, settings.max_job_bytes), runs, schedules, store
        ),
        server,
    )
    transformer_pb2_grpc.add_TransformerServiceServicer_to_server(
        TransformerServicer(store), server
    )
    model_pb2_grpc.add_ModelServiceServicer_to_server(
        build_model_servicer(settings, store, temporal_client), server
    )

    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ["", *SERVICE_NAMES]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    enable_reflection([*SERVICE_NAMES, health.SERVICE_NAME], server)

    credentials = api_server_credentials(settings)
    if credentials is None:
        port = server.add_insecure_port(settings.api)
    else:
        port = server.add_secure_port(settings.api, credentials)
    if port == 0:
        raise OSError(f"cannot bind the API to {settings.api}")
    return server
