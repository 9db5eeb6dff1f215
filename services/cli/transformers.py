"""`veilsync transformers ...`: what a job file may put on a column, and a dry run of it."""

import click
from google.protobuf import json_format

from services.cli.api_client import DEFAULT_TIMEOUT_S, list_all, open_api
from services.cli.context import CliContext, pass_cli
from services.cli.errors import EXIT_INVALID_ARGUMENT, CliError
from services.cli.output import json_option, out, print_json, table, when
from veilsync.v1 import transformer_pb2

CONFIG_HELP = "One TransformerConfig as JSON, as in a job file: '{\"transform_email\": {}}'."


@click.group()
def transformers() -> None:
    """List transformers, preview what one does to sample values, and save configs under a
    name for job files to use ({"user_defined": NAME})."""


@transformers.command("list")
@click.option("--saved", is_flag=True, help="List the account's saved transformers instead.")
@json_option()
@pass_cli
def list_(cli: CliContext, saved: bool, as_json: bool) -> None:
    """List the built-in transformers by job-file name (or, with --saved, the account's)."""
    if saved:
        _list_saved(cli, as_json)
        return
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
    help=CONFIG_HELP,
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


def _list_saved(cli: CliContext, as_json: bool) -> None:
    with open_api(cli.settings) as api:
        found: list[transformer_pb2.UserDefinedTransformer] = list_all(
            api.transformers.ListUserDefinedTransformers,
            transformer_pb2.ListUserDefinedTransformersRequest,
            lambda page: page.transformers,
        )
    if as_json:
        print_json(transformer_pb2.ListUserDefinedTransformersResponse(transformers=found))
        return
    grid = table("NAME", "CONFIG", "DESCRIPTION", "UPDATED")
    for t in found:
        grid.add_row(t.name, _config_text(t.config), t.description, when(t.update_time))
    out.print(grid)


def _config_text(config: transformer_pb2.TransformerConfig) -> str:
    return json_format.MessageToJson(config, preserving_proto_field_name=True, indent=None)


def _show_saved(saved: transformer_pb2.UserDefinedTransformer, as_json: bool) -> None:
    if as_json:
        print_json(saved)
        return
    out.print(f"name:        {saved.name}")
    out.print(f"id:          {saved.id}")
    out.print(f"config:      {_config_text(saved.config)}")
    out.print(f"description: {saved.description or '-'}")
    out.print(f"updated:     {when(saved.update_time)}")


@transformers.command("create")
@click.argument("name")
@click.option("--config", "config", required=True, help=CONFIG_HELP)
@click.option("--description", default="", help="What it is for.")
@json_option()
@pass_cli
def create(cli: CliContext, name: str, config: str, description: str, as_json: bool) -> None:
    """Save a transformer config under NAME; job files use it as {"user_defined": NAME}."""
    request = transformer_pb2.CreateUserDefinedTransformerRequest(
        name=name, description=description, config=_config(config)
    )
    with open_api(cli.settings) as api:
        saved = api.transformers.CreateUserDefinedTransformer(
            request, timeout=DEFAULT_TIMEOUT_S
        ).transformer
    if as_json:
        print_json(saved)
        return
    out.print(f"saved transformer {saved.name}")


@transformers.command("get")
@click.argument("name")
@json_option()
@pass_cli
def get(cli: CliContext, name: str, as_json: bool) -> None:
    """Show a saved transformer."""
    request = transformer_pb2.GetUserDefinedTransformerRequest(name=name)
    with open_api(cli.settings) as api:
        saved = api.transformers.GetUserDefinedTransformer(
            request, timeout=DEFAULT_TIMEOUT_S
        ).transformer
    _show_saved(saved, as_json)


@transformers.command("delete")
@click.argument("name")
@pass_cli
def delete(cli: CliContext, name: str) -> None:
    """Delete a saved transformer that no job uses."""
    request = transformer_pb2.DeleteUserDefinedTransformerRequest(name=name)
    with open_api(cli.settings) as api:
        api.transformers.DeleteUserDefinedTransformer(request, timeout=DEFAULT_TIMEOUT_S)
    out.print(f"deleted transformer {name}")
