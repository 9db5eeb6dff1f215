"""`veilsync keys ...`: the API keys of the caller's account."""

import click

from services.cli.api_client import DEFAULT_TIMEOUT_S, open_api
from services.cli.context import CliContext, pass_cli
from services.cli.output import err, json_option, out, print_json, table, when
from veilsync.v1 import account_pb2


@click.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command("create")
@click.argument("name")
@json_option()
@pass_cli
def create(cli: CliContext, name: str, as_json: bool) -> None:
    """Create a key; its secret is printed once, alone on stdout, and never shown again."""
    with open_api(cli.settings) as api:
        result = api.accounts.CreateApiKey(
            account_pb2.CreateApiKeyRequest(name=name), timeout=DEFAULT_TIMEOUT_S
        )
    if as_json:
        print_json(result)
        return
    out.print(result.secret)
    err.print(f"created API key {result.api_key.name} ({result.api_key.id}); store it now")


@keys.command("list")
@json_option()
@pass_cli
def list_(cli: CliContext, as_json: bool) -> None:
    """List keys: id, name, the secret's first characters, created and revoked times."""
    with open_api(cli.settings) as api:
        result = api.accounts.ListApiKeys(
            account_pb2.ListApiKeysRequest(), timeout=DEFAULT_TIMEOUT_S
        )
    if as_json:
        print_json(result)
        return
    grid = table("ID", "NAME", "PREFIX", "CREATED", "REVOKED")
    for k in result.api_keys:
        grid.add_row(k.id, k.name, k.prefix, when(k.create_time), when(k.revoke_time))
    out.print(grid)


@keys.command("revoke")
@click.argument("key_id")
@pass_cli
def revoke(cli: CliContext, key_id: str) -> None:
    """Revoke a key by id; calls with it are refused from now on."""
    with open_api(cli.settings) as api:
        result = api.accounts.RevokeApiKey(
            account_pb2.RevokeApiKeyRequest(id=key_id), timeout=DEFAULT_TIMEOUT_S
        )
    out.print(f"revoked API key {result.api_key.name} ({result.api_key.id})")
