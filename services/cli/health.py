"""Readiness probes over gRPC health checking (grpc.health.v1)."""

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

# Temporal's frontend reports its own health under the workflow service's name.
TEMPORAL_SERVICE = "temporal.api.workflowservice.v1.WorkflowService"


def is_serving(address: str, service: str = "", timeout_s: float = 2.0) -> bool:
    """Whether the server at `address` answers SERVING for `service` ("" = the whole server)."""
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout_s)
        except grpc.RpcError:
            return False
    return bool(response.status == health_pb2.HealthCheckResponse.SERVING)
