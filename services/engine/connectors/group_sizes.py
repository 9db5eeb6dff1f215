"""The count behind a table's k-anonymity: its rows grouped by some columns, summed up in the
database (standard SQL that PostgreSQL, MySQL/MariaDB and SQLite all run), so only four
numbers come back however large the table. Each connector brings its own quoting."""

from collections.abc import Callable, Sequence
from typing import Any

from services.engine.connectors.base import GroupSizes


def group_sizes_query(
    table: tuple[str, str], columns: Sequence[str], quote: Callable[[str], str]
) -> str:
    """Rows, groups, the smallest group and the rows alone in theirs; GROUP BY puts NULLs
    together, as k-anonymity counts them (a missing value is a value an attacker sees too)."""
    keys = ", ".join(quote(c) for c in columns)
    return (
        "SELECT sum(n), count(*), min(n), sum(CASE WHEN n = 1 THEN 1 ELSE 0 END) "
        f"FROM (SELECT count(*) AS n FROM {'.'.join(map(quote, table))} GROUP BY {keys}) AS g"
    )


def group_sizes_of(row: Sequence[Any] | None) -> GroupSizes:
    """The query's one row (sums may come back as decimals); over an empty table the sums and
    the minimum are NULL, read as 0."""
    rows, groups, smallest, unique = (int(v or 0) for v in row) if row else (0, 0, 0, 0)
    return GroupSizes(rows=rows, groups=groups, smallest=smallest, unique_rows=unique)
