"""The Temporal SDK's side of observability: its runtime's Prometheus endpoint and the
tracing interceptor that carries a span from a client call into workflows and activities."""

from opentelemetry import trace
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from services.common.settings import Settings


def temporal_runtime(settings: Settings) -> Runtime | None:
    """A runtime serving the SDK's metrics when settings ask for it; None keeps the default.
    Build one per process: each binds its port."""
    if not settings.temporal_metrics_port:
        return None
    address = f"{settings.metrics_host}:{settings.temporal_metrics_port}"
    metrics = PrometheusConfig(
        bind_address=address, counters_total_suffix=True, durations_as_seconds=True
    )
    return Runtime(telemetry=TelemetryConfig(metrics=metrics))


def with_tracing(client: Client, tracer: trace.Tracer | None = None) -> Client:
    """The same connection, tracing what it starts; workers built on it trace too (the
    interceptor is a worker interceptor as well, and workers take the client's)."""
    config = client.config()
    config["interceptors"] = [*config["interceptors"], TracingInterceptor(tracer)]
    return Client(**config)
