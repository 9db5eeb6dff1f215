"""`veilsync transformers ...`: what a job file may put on a column, and a dry run of it."""

import click
from google.protobuf import json_format

from services.cli.api_client import DEFAULT_TIMEOUT_S, open_api
from services.cli.context import CliContext, pass_cli
from services.cli.errors import EXIT_INVALID_ARGUMENT, CliError
from services.cli.output import json_option, out, print_json, table
from veilsync.v1 import transformer_pb2


@click.group()
def transformers() -> None:
    """List transformers and preview what one does to sample values."""


@transformers.command("list")
@json_option()
@pass_cli
def list_(cli: CliContext, as_json: bool) -> None:
    """List the built-in transformers by job-file name."""
    with open_api(cli.settings) as api:
        result = api.transformers.GetSystemTransformers(
            transformer_pb2.GetSystemTransformersRequest(), timeout=DEFAULT_TIMEOUT_S
        )
    if as_json:
        print_json(result)
        return
    grid = table("NAME", "VERSION", "DETERMINISTIC", "DATA TYPES", "DESCRIPTION")
    for t in result.transformers:
        deterministic = "yes" if t.deterministic else "no"
        grid.add_row(t.name, str(t.version), deterministic, ", ".join(t.data_types), t.description)
    out.print(grid)


def _config(text: str) -> transformer_pb2.TransformerConfig:
    try:
        return json_format.Parse(text, transformer_pb2.TransformerConfig())
    except json_format.ParseError as error:
        # Refused before dialling, like a bad job file.
        raise CliError(f"--config: {error}".splitlines()[0], EXIT_INVALID_ARGUMENT) from error


@transformers.command("preview")
@click.option(
    "--config",
    "config",
    required=True,
    help="One TransformerConfig as JSON, as in a job file: '{\"transform_email\": {}}'.",
)
@click.option("--key", default="", help="Transform key; a fixed preview key when omitted.")
@click.argument("values", nargs=-1, required=True)
@json_option()
@pass_cli
def preview(cli: CliContext, config: str, key: str, values: tuple[str, ...], as_json: bool) -> None:
    """Transform VALUES with a transformer and show each input beside its output."""
    request = transformer_pb2.PreviewTransformRequest(
        config=_config(config), values=list(values), key=key
    )
    with open_api(cli.settings) as api:
        result = api.transformers.PreviewTransform(request, timeout=DEFAULT_TIMEOUT_S)
    if as_json:
        print_json(result)
        return
    grid = table("INPUT", "OUTPUT")
    for value, output in zip(values, result.outputs, strict=True):
        grid.add_row(value, "NULL" if output.null else output.value)
    out.print(grid)
