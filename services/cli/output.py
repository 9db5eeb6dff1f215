"""Consoles and small formatting helpers shared by the commands."""

from collections.abc import Callable
from typing import Any, Protocol

import click
from google.protobuf import duration_pb2, json_format, timestamp_pb2
from google.protobuf.message import Message
from rich.console import Console
from rich.table import Table


class ProtoEnum(Protocol):
    """A generated enum (its class, whose metaclass answers Name)."""

    def Name(self, number: Any) -> str: ...


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


def print_json(message: Message) -> None:
    """A message as proto3 JSON with the proto's field names, for scripts.

    Plain click.echo: rich would re-wrap and colour the JSON a script is about to parse.
    """
    click.echo(
        json_format.MessageToJson(
            message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
    )


def enum_label(enum: ProtoEnum, value: int, prefix: str) -> str:
    """`RUN_STATUS_SUCCEEDED` → `succeeded`: the short lower-case name people type and read."""
    return enum.Name(value).removeprefix(prefix).lower()


def json_option() -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print the response as proto3 JSON (proto field names), for scripts.",
    )
