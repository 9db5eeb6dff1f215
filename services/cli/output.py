"""Consoles and small formatting helpers shared by the commands."""

from google.protobuf import duration_pb2, timestamp_pb2
from rich.console import Console
from rich.table import Table

# Results go to stdout; progress bars and notes go to stderr so `$(veilsync ...)` stays clean.
out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, markup=False)


def when(stamp: timestamp_pb2.Timestamp) -> str:
    if not stamp.seconds and not stamp.nanos:
        return "-"
    return stamp.ToDatetime().strftime("%Y-%m-%d %H:%M:%S UTC")


def seconds(duration: duration_pb2.Duration) -> float:
    return float(duration.ToTimedelta().total_seconds())


def table(*headers: str, title: str | None = None) -> Table:
    """A table whose cells wrap instead of being cut: URLs and emails must stay whole."""
    result = Table(title=title)
    for header in headers:
        result.add_column(header, overflow="fold")
    return result
