"""The SELECT every connector reads a `ReadRequest` with. Each brings its own identifier
quoting and placeholder; the rest is SQL that PostgreSQL, MySQL / MariaDB and SQLite share."""

from collections.abc import Callable

from services.engine.connectors.base import ReadRequest
from services.engine.connectors.keyset import from_table, key_range


def select_query(
    request: ReadRequest, quote: Callable[[str], str], placeholder: str, only: bool = False
) -> tuple[str, list[str]]:
    """The query reading `request`, and its parameters, for a database quoting names with
    `quote` and taking parameters as `placeholder` ("%s" or "?"). `where` and `expressions`
    are SQL the planner built from checked parts. `only` reads FROM ONLY the table
    (PostgreSQL: an inheritance parent's own rows, its children being tables of their own)."""
    parameters = bool(request.key) and bool(request.after or request.until)
    # A driver given parameters for `%s` takes every other % for a placeholder too: a LIKE
    # pattern's % (or a name's) is doubled to stay itself. `?` has no such escape.
    text = _doubled if parameters and placeholder == "%s" else _same

    def name(identifier: str) -> str:
        return text(quote(identifier))

    expressions = request.expressions
    select = ", ".join(
        f"{text(expressions[c])} AS {name(c)}" if c in expressions else name(c)
        for c in request.columns
    )
    query = f"SELECT {select} FROM {from_table(request.schema, request.table, name, only)}"
    conditions = [text(request.where)] if request.where else []
    params: list[str] = []
    if request.key:
        bounds, params = key_range(request.key, name, placeholder, request.after, request.until)
        conditions += bounds
    if conditions:
        query += " WHERE " + " AND ".join(f"({c})" for c in conditions)
    if request.key:
        query += f" ORDER BY {', '.join(map(name, request.key))}"
    return query, params


def _doubled(sql: str) -> str:
    return sql.replace("%", "%%")


def _same(sql: str) -> str:
    return sql
