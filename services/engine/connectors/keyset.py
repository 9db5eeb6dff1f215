"""Keyset SQL the engines share: the conditions bounding a read to a key range, and the query
finding the keys that cut a table into parts of about equal size. Each connector brings its
own identifier quoting and placeholder; the rest is standard SQL (row values, window
functions) that PostgreSQL, MySQL 8 / MariaDB 10.2 and SQLite 3.25 all run."""

from collections.abc import Callable, Sequence


def from_table(schema: str, table: str, quote: Callable[[str], str], only: bool = False) -> str:
    """The table as a FROM item; with `only`, without its inheritance children's rows."""
    return f"{'ONLY ' if only else ''}{quote(schema)}.{quote(table)}"


def key_range(
    key: Sequence[str],
    quote: Callable[[str], str],
    placeholder: str,
    after: Sequence[str] | None,
    until: Sequence[str] | None,
) -> tuple[list[str], list[str]]:
    """Conditions, and their parameters, keeping the rows whose key is after `after` and up
    to `until` included. Text parameters compare as the key columns' own types."""
    columns = ", ".join(map(quote, key))
    values = ", ".join([placeholder] * len(key))
    conditions: list[str] = []
    params: list[str] = []
    for bound, operator in ((after, ">"), (until, "<=")):
        if bound is not None:
            conditions.append(f"({columns}) {operator} ({values})")
            params += bound
    return conditions, params


def split_query(
    schema: str,
    table: str,
    key: Sequence[str],
    quote: Callable[[str], str],
    as_text: Callable[[str], str],
    rows: int,
    parts: int,
    where: str = "",
    only: bool = False,
) -> str:
    """The keys (each column as `as_text` gives it) of every ceil(rows / parts)-th row in key
    order but the last row: the ends of all parts but the last, none of them empty. `only`:
    as select_query's."""
    step = max(-(-rows // parts), 1)
    quoted = [quote(c) for c in key]
    selected = ", ".join(f"{as_text(c)} AS vs_k{i}" for i, c in enumerate(quoted))
    condition = f" WHERE {where}" if where else ""
    return (
        f"SELECT {', '.join(f'vs_k{i}' for i in range(len(key)))} FROM ("
        f"SELECT {selected}, row_number() OVER (ORDER BY {', '.join(quoted)}) AS vs_row "
        f"FROM {from_table(schema, table, quote, only)}{condition}) AS vs_split "
        f"WHERE vs_row % {step} = 0 AND vs_row < {rows} ORDER BY vs_row"
    )
