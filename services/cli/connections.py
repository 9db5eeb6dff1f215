"""`veilsync connections ...`: the databases jobs read from and write to."""

import click

from services.cli.api_client import DEFAULT_TIMEOUT_S, list_all, open_api
from services.cli.context import CliContext, pass_cli
from services.cli.errors import CliError
from services.cli.output import enum_label, json_option, out, print_json, table, when
from veilsync.v1 import connection_pb2


def _ref(name: str) -> connection_pb2.ConnectionRef:
    return connection_pb2.ConnectionRef(name=name)


@click.group()
def connections() -> None:
    """Create, list, check, update and delete database connections."""


@connections.command("create")
@click.option("--name", required=True, help="Unique name jobs use to refer to it.")
@click.option("--url", required=True, help="postgresql://..., mysql://... or sqlite:///path")
@pass_cli
def create(cli: CliContext, name: str, url: str) -> None:
    """Store a connection (its URL is encrypted at rest and never shown again)."""
    with open_api(cli.settings) as api:
        response = api.connections.CreateConnection(
            connection_pb2.CreateConnectionRequest(name=name, url=url), timeout=DEFAULT_TIMEOUT_S
        )
    c = response.connection
    out.print(
        f"created connection {c.name} ({connection_pb2.Engine.Name(c.engine)}, {c.redacted_url})"
    )


@connections.command("update")
@click.argument("name")
@click.option("--url", required=True, help="The new URL, of the same engine (a new password).")
@json_option()
@pass_cli
def update(cli: CliContext, name: str, url: str, as_json: bool) -> None:
    """Replace a connection's URL, checked like a new one; jobs using it keep using it."""
    request = connection_pb2.UpdateConnectionRequest(connection=_ref(name), url=url)
    with open_api(cli.settings) as api:
        c = api.connections.UpdateConnection(request, timeout=DEFAULT_TIMEOUT_S).connection
    if as_json:
        print_json(c)
        return
    out.print(f"updated connection {c.name} ({c.redacted_url})")


@connections.command("list")
@json_option()
@pass_cli
def list_(cli: CliContext, as_json: bool) -> None:
    """List connections by name."""
    with open_api(cli.settings) as api:
        found: list[connection_pb2.Connection] = list_all(
            api.connections.ListConnections,
            connection_pb2.ListConnectionsRequest,
            lambda page: page.connections,
        )
    if as_json:
        print_json(connection_pb2.ListConnectionsResponse(connections=found))
        return
    grid = table("NAME", "ENGINE", "URL", "CREATED")
    for c in found:
        engine = enum_label(connection_pb2.Engine, c.engine, "ENGINE_")
        grid.add_row(c.name, engine, c.redacted_url, when(c.create_time))
    out.print(grid)


@connections.command("get")
@click.argument("name")
@json_option()
@pass_cli
def get(cli: CliContext, name: str, as_json: bool) -> None:
    """Show one connection."""
    with open_api(cli.settings) as api:
        c = api.connections.GetConnection(
            connection_pb2.GetConnectionRequest(connection=_ref(name)), timeout=DEFAULT_TIMEOUT_S
        ).connection
    if as_json:
        print_json(c)
        return
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
    with open_api(cli.settings) as api:
        api.connections.DeleteConnection(
            connection_pb2.DeleteConnectionRequest(connection=_ref(name)), timeout=DEFAULT_TIMEOUT_S
        )
    out.print(f"deleted connection {name}")


_ROLES = {
    "source": connection_pb2.CONNECTION_ROLE_SOURCE,
    "destination": connection_pb2.CONNECTION_ROLE_DESTINATION,
}


@connections.command("check")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(sorted(_ROLES)),
    default=None,
    help="Also check the privileges a job needs to read from (source) or write to it.",
)
@json_option()
@pass_cli
def check(cli: CliContext, name: str, role: str | None, as_json: bool) -> None:
    """Connect to the database; exit 1 when it does not answer or lacks a needed privilege."""
    request = connection_pb2.CheckConnectionRequest(connection=_ref(name))
    if role:
        request.role = _ROLES[role]
    with open_api(cli.settings) as api:
        result = api.connections.CheckConnection(request, timeout=DEFAULT_TIMEOUT_S)
    if as_json:
        print_json(result)
    if not result.reachable:
        raise CliError(f"connection {name} is not reachable: {result.message}")
    if not as_json:
        out.print(f"connection {name} is reachable: {result.server_version}")
    if not role:
        return
    if not as_json:
        grid = table("PRIVILEGE", "ON", "GRANTED")
        for p in result.privileges:
            grid.add_row(p.privilege, p.object, "yes" if p.granted else "NO")
        out.print(grid)
    if not result.sufficient:
        raise CliError(f"connection {name} lacks privileges needed as a {role}")
    if not as_json:
        out.print(f"privileges are sufficient for a {role}")


@connections.command("schema")
@click.argument("name")
@click.option("--exact-counts", is_flag=True, help="Count rows instead of estimating them.")
@json_option()
@pass_cli
def schema(cli: CliContext, name: str, exact_counts: bool, as_json: bool) -> None:
    """Show the tables a job could map: columns, keys and row counts."""
    with open_api(cli.settings) as api:
        result = api.connections.GetConnectionSchema(
            connection_pb2.GetConnectionSchemaRequest(
                connection=_ref(name), exact_row_counts=exact_counts
            ),
            timeout=DEFAULT_TIMEOUT_S,
        )
    if as_json:
        print_json(result)
        return
    grid = table("TABLE", "ROWS", "COLUMNS", "PRIMARY KEY", "FOREIGN KEYS")
    for t in result.tables:
        columns = "\n".join(
            f"{c.name} {c.data_type}{'' if c.nullable else ' not null'}" for c in t.columns
        )
        foreign = "\n".join(
            f"({', '.join(fk.columns)}) -> {fk.ref_table}({', '.join(fk.ref_columns)})"
            for fk in t.foreign_keys
        )
        rows = str(t.row_count) if t.row_count_exact else f"~{t.row_count}"
        grid.add_row(t.table, rows, columns, ", ".join(t.primary_key), foreign)
    out.print(grid)
