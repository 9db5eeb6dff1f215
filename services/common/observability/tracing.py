"""OpenTelemetry tracing set up from the standard OTEL_* variables.

OTEL_TRACES_EXPORTER picks the exporter (otlp, console or none); an OTLP endpoint alone
(OTEL_EXPORTER_OTLP_ENDPOINT or its traces variant) means otlp. Neither set: no exporter,
so spans cost next to nothing and go nowhere.
"""

import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def exporter_name() -> str:
    named = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if named:
        return named
    return "otlp" if any(os.environ.get(v) for v in _ENDPOINTS) else "none"


def _exporter(name: str) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    if name == "otlp":
        # Imported here: it pulls in its own gRPC stack, needed only when asked for.
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()  # reads the OTEL_EXPORTER_OTLP_* variables itself
    raise ValueError(f"OTEL_TRACES_EXPORTER={name!r} is not one of otlp, console, none")


def configure_tracing(service_name: str) -> str:
    """Install the global tracer provider when OTEL_* asks for an exporter; its name."""
    name = exporter_name()
    if name == "none":
        return name
    service = os.environ.get("OTEL_SERVICE_NAME") or service_name
    resource = Resource.create({"service.name": service})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    trace.set_tracer_provider(provider)
    return name
