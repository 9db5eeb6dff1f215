"""`veilsync connections ...`: the databases jobs read from and write to."""

import click

from services.cli.api_client import DEFAULT_TIMEOUT_S, open_api
from services.cli.context import CliContext, pass_cli
from services.cli.errors import CliError
from services.cli.output import out, table, when
from veilsync.v1 import connection_pb2


def _ref(name: str) -> connection_pb2.ConnectionRef:
    return connection_pb2.ConnectionRef(name=name)


@click.group()
def connections() -> None:
    """Create, list, check and delete database connections."""


@connections.command("create")
@click.option("--name", required=True, help="Unique name jobs use to refer to it.")
@click.option("--url", required=True, help="postgresql://..., mysql://... or sqlite:///path")
@pass_cli
def create(cli: CliContext, name: str, url: str) -> None:
    """Store a connection (its URL is encrypted at rest and never shown again)."""
    with open_api(cli.api) as api:
        response = api.connections.CreateConnection(
            connection_pb2.CreateConnectionRequest(name=name, url=url), timeout=DEFAULT_TIMEOUT_S
        )
    c = response.connection
    out.print(
        f"created connection {c.name} ({connection_pb2.Engine.Name(c.engine)}, {c.redacted_url})"
    )


@connections.command("list")
@pass_cli
def list_(cli: CliContext) -> None:
    """List connections by name."""
    grid = table("NAME", "ENGINE", "URL", "CREATED")
    with open_api(cli.api) as api:
        token = ""
        while True:
            page = api.connections.ListConnections(
                connection_pb2.ListConnectionsRequest(page_size=1000, page_token=token),
                timeout=DEFAULT_TIMEOUT_S,
            )
            for c in page.connections:
                engine = connection_pb2.Engine.Name(c.engine).removeprefix("ENGINE_").lower()
                grid.add_row(c.name, engine, c.redacted_url, when(c.create_time))
            token = page.next_page_token
            if not token:
                break
    out.print(grid)


@connections.command("get")
@click.argument("name")
@pass_cli
def get(cli: CliContext, name: str) -> None:
    """Show one connection."""
    with open_api(cli.api) as api:
        c = api.connections.GetConnection(
            connection_pb2.GetConnectionRequest(connection=_ref(name)), timeout=DEFAULT_TIMEOUT_S
        ).connection
    out.print(f"name:    {c.name}")
    out.print(f"id:      {c.id}")
    out.print(f"engine:  {connection_pb2.Engine.Name(c.engine)}")
    out.print(f"url:     {c.redacted_url}")
    out.print(f"created: {when(c.create_time)}")


@connections.command("delete")
@click.argument("name")
@pass_cli
def delete(cli: CliContext, name: str) -> None:
    """Delete a connection that no job uses."""
    with open_api(cli.api) as api:
        api.connections.DeleteConnection(
            connection_pb2.DeleteConnectionRequest(connection=_ref(name)), timeout=DEFAULT_TIMEOUT_S
        )
    out.print(f"deleted connection {name}")


@connections.command("check")
@click.argument("name")
@pass_cli
def check(cli: CliContext, name: str) -> None:
    """Connect to the database; exit 1 when it does not answer."""
    with open_api(cli.api) as api:
        result = api.connections.CheckConnection(
            connection_pb2.CheckConnectionRequest(connection=_ref(name)), timeout=DEFAULT_TIMEOUT_S
        )
    if not result.reachable:
        raise CliError(f"connection {name} is not reachable: {result.message}")
    out.print(f"connection {name} is reachable: {result.server_version}")
