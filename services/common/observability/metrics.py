"""Veilsync's own Prometheus metrics, and the endpoint that serves them.

Rows are labelled by job, not by table: tables across every account are unbounded, while
a deployment's jobs are few enough for a time series each.
"""

from prometheus_client import Counter, Histogram, start_http_server

from services.common.settings import Settings

ROWS_READ = Counter("veilsync_rows_read", "Source rows read by table copies.", ["job"])
ROWS_WRITTEN = Counter(
    "veilsync_rows_written", "Rows written to destinations by table copies.", ["job"]
)
TABLE_COPY_SECONDS = Histogram(
    "veilsync_table_copy_seconds",
    "Time to copy one table (or one key range of it).",
    # Copies last from milliseconds (a lookup table) to hours (a billion-row table).
    buckets=(0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600),
)
API_REQUESTS = Counter("veilsync_api_requests", "API calls answered.", ["method", "code"])
API_REQUEST_SECONDS = Histogram(
    "veilsync_api_request_seconds", "Time to answer an API call.", ["method", "code"]
)


def record_table_copy(job_id: str, rows_read: int, rows_written: int, seconds: float) -> None:
    ROWS_READ.labels(job=job_id).inc(rows_read)
    ROWS_WRITTEN.labels(job=job_id).inc(rows_written)
    TABLE_COPY_SECONDS.observe(seconds)


def serve_metrics(settings: Settings) -> str:
    """Start this process's endpoint when settings ask for one; its address, or ""."""
    if not settings.metrics_port:
        return ""
    start_http_server(settings.metrics_port, addr=settings.metrics_host)
    return f"{settings.metrics_host}:{settings.metrics_port}"
