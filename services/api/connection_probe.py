"""What the API asks of a live database: reachability, privileges, schema, row counts."""

from services.engine.connectors import open_database
from services.engine.inspect.privileges import Privilege, Role, check_privileges
from services.engine.inspect.reachability import ConnectionCheck, check_connection
from services.engine.schema import Schema


def probe(url: str, role: Role | None) -> tuple[ConnectionCheck, list[Privilege]]:
    check = check_connection(url)
    if role is None or not check.reachable:
        return check, []
    database = open_database(url)
    return check, check_privileges(url, database.engine, database.introspect(), role)


def describe(url: str, exact_counts: bool) -> tuple[Schema, dict[str, int] | None]:
    database = open_database(url)
    schema = database.introspect()
    if not exact_counts:
        return schema, None
    counts = {name: database.count(t.schema, t.name) for name, t in schema.tables.items()}
    return schema, counts
