"""Consoles and small formatting helpers shared by the commands."""

import json
from collections.abc import Callable, Mapping
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


# Columns holding ids: an id is copied whole, so it is never folded onto two lines.
ID_HEADERS = frozenset({"ID", "RUN"})


def table(*headers: str, title: str | None = None) -> Table:
    """A table whose cells wrap instead of being cut: URLs and emails must stay whole, and
    ids are never wrapped at all (other columns give way)."""
    result = Table(title=title)
    for header in headers:
        if header in ID_HEADERS:
            result.add_column(header, no_wrap=True, overflow="ignore")
        else:
            result.add_column(header, overflow="fold")
    return result


def print_json(data: Message | Mapping[str, Any]) -> None:
    """A message as proto3 JSON with the proto's field names (or plain data, for what has no
    message), for scripts: every command's --json goes through here.

    Plain click.echo: rich would re-wrap and colour the JSON a script is about to parse.
    """
    if isinstance(data, Message):
        data = json_format.MessageToDict(
            data, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
    click.echo(json.dumps(_whole_numbers(data), indent=2))


def _whole_numbers(value: Any) -> Any:
    """Whole doubles written as integers: a sampled integer column reads 1, not 1.0 (proto3
    JSON accepts either for a double, and a google.protobuf.Struct holds only doubles)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


def cell(value: Any) -> str:
    """A JSON value (a preview row's) as a table shows it: NULL for null, 1 for 1.0."""
    if value is None:
        return "NULL"
    return str(_whole_numbers(value))


def count(value: float) -> str:
    """A row count or rate with thousands separators: 1,234,567."""
    return f"{value:,.0f}"


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
