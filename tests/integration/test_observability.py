"""A real run through the API with the sync worker in-process: its row counts and its outcome
appear on metrics scrapes, one trace links the API call to the workflow and its activities, and the
API's request log line is JSON with method, code, duration and account, and no secret."""

import asyncio
import json
import logging
import re
import urllib.request
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client

from services.api.server import build_server
from services.common.logging import JsonFormatter
from services.common.observability.metrics import serve_metrics
from services.common.observability.temporal_telemetry import temporal_runtime, with_tracing
from services.common.temporal import connect_args
from services.sync_worker.worker import MAX_CONCURRENT_ACTIVITIES, build_worker
from tests.integration.conftest import Api, _free_port, stubs_for
from tests.integration.test_api_runs import shop_api_job
from tests.integration.test_run_verification import connections, run_to_end
from veilsync.v1 import job_pb2 as j
from veilsync.v1 import job_pb2_grpc

TRIGGER = "/veilsync.v1.JobService/TriggerJobRun"


@pytest.fixture
async def traced(api: Api) -> AsyncIterator[tuple[Api, InMemorySpanExporter]]:
    """The test API again, on its own port, with a tracer of its own (the global provider is
    set once per process; a test must not take it) and a traced client and worker, whose
    connection serves the Temporal SDK's metrics (a runtime of its own, on its own port)."""
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracer = provider.get_tracer("tests")
    settings = api.settings.model_copy(
        update={
            "api": f"127.0.0.1:{_free_port()}",
            "temporal_address": api.temporal.service_client.config.target_host,
            "temporal_metrics_port": _free_port(),
        }
    )
    connection = await Client.connect(
        **connect_args(settings),
        data_converter=api.temporal.data_converter,
        runtime=temporal_runtime(settings),
    )
    client = with_tracing(connection, tracer)
    server = await build_server(settings, api.store, client, tracer)
    await server.start()
    channel, _ = stubs_for(settings.api, api.key.secret)
    jobs = job_pb2_grpc.JobServiceStub(channel)
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
        async with build_worker(client, api.store, executor, settings.sync_task_queue):
            yield (
                api.__class__(
                    **{**vars(api), "jobs": jobs, "temporal": client, "settings": settings}
                ),
                spans,
            )
    await channel.close()
    await server.stop(None)


async def _scrape(address: str) -> str:
    return await asyncio.to_thread(
        lambda: urllib.request.urlopen(f"http://{address}/metrics", timeout=10).read().decode()
    )


def _triggers(page: str) -> float:
    """TriggerJobRun calls answered OK so far, as the scrape counts them."""
    line = f'veilsync_api_requests_total{{code="OK",method="{TRIGGER}"}} '
    found = re.search(rf"^{re.escape(line)}(\S+)$", page, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_a_run_is_measured_traced_and_logged(
    traced: tuple[Api, InMemorySpanExporter],
    pg_database: Callable[[str], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    api, spans = traced
    metrics = serve_metrics(api.settings.model_copy(update={"metrics_port": _free_port()}))
    await connections(api, pg_database)
    caplog.set_level(logging.INFO, logger="services.api.requests")
    # Counters are per process: other tests' calls count too, so compare before and after.
    triggers_before = _triggers(await _scrape(metrics))

    run = await run_to_end(api, shop_api_job())

    # Metrics: the run's own rows, by its job, on a plain HTTP scrape.
    page = await _scrape(metrics)
    for name, expected in (
        ("veilsync_rows_read_total", sum(t.rows_read for t in run.verification.tables)),
        ("veilsync_rows_written_total", sum(t.rows_written for t in run.verification.tables)),
    ):
        found = re.search(rf'^{name}{{job="{run.job_id}"}} (\S+)$', page, re.MULTILINE)
        assert found, f"{name} for job {run.job_id} not in the scrape"
        assert expected > 0 and float(found.group(1)) == expected
    assert "veilsync_table_copy_seconds_count" in page
    assert _triggers(page) == triggers_before + 1

    # The run's outcome, counted once by the workflow, on the Temporal SDK's endpoint.
    assert run.status == j.RUN_STATUS_SUCCEEDED
    sdk = await _scrape(f"{api.settings.metrics_host}:{api.settings.temporal_metrics_port}")
    queue = f'task_queue="{api.settings.sync_task_queue}"'
    ended = [
        line
        for line in sdk.splitlines()
        if line.startswith("veilsync_runs_total{") and queue in line
    ]
    assert len(ended) == 1 and ended[0].endswith("} 1"), sdk
    assert 'kind="sync"' in ended[0] and 'outcome="succeeded"' in ended[0], ended

    # Traces: the API call is the root of one trace that holds the workflow and activities.
    finished = spans.get_finished_spans()
    (root,) = [s for s in finished if s.name == TRIGGER]
    in_trace = {s.name for s in finished if s.context.trace_id == root.context.trace_id}
    assert {
        "StartWorkflow:DataSyncWorkflow",
        "RunWorkflow:DataSyncWorkflow",
        "StartActivity:plan_sync",
        "RunActivity:plan_sync",
    } <= in_trace, in_trace
    assert any(n.startswith("RunActivity:sync_table") for n in in_trace), in_trace

    # Logs: the request line as JSON, with its fields and without the caller's key.
    (record,) = [r for r in caplog.records if getattr(r, "rpc_method", "") == TRIGGER]
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["code"] == "OK" and entry["account"] and entry["duration_ms"] > 0
    assert api.key.secret not in line
