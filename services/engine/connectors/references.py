"""The condition a writer puts on staged rows to leave out those whose references would
dangle, and the count a run's verification makes of rows whose reference dangles. It is
standard SQL (EXISTS, IS NULL) that PostgreSQL, MySQL/MariaDB and SQLite all
run; each connector brings its own identifier quoting."""

from collections.abc import Callable, Sequence

from services.engine.connectors.base import Reference


def references_hold(references: Sequence[Reference], quote: Callable[[str], str]) -> str | None:
    """True for a staged row `s` whose every reference has a NULL column or names an existing
    row of the referenced table (MATCH SIMPLE, as the engines' own foreign keys); None when
    nothing is checked. Never NULL itself, so NOT (...) selects exactly the rows left out."""
    if not references:
        return None
    return " AND ".join(_holds(ref, quote) for ref in references)


def _holds(ref: Reference, quote: Callable[[str], str]) -> str:
    nulls = " OR ".join(f"s.{quote(c)} IS NULL" for c in ref.columns)
    matches = " AND ".join(
        f"p.{quote(r)} = s.{quote(c)}"
        for c, r in zip(ref.columns, ref.referenced_columns, strict=True)
    )
    parent = ".".join(map(quote, ref.table))
    return f"({nulls} OR EXISTS (SELECT 1 FROM {parent} AS p WHERE {matches}))"


def dangling_query(
    table: tuple[str, str], reference: Reference, quote: Callable[[str], str]
) -> str:
    """Counts the rows of `table` (schema, name) whose `reference` dangles: no NULL column,
    and no row of the referenced table with their values. One query per reference, so a
    failure names the reference."""
    holds = _holds(reference, quote)
    return f"SELECT count(*) FROM {'.'.join(map(quote, table))} AS s WHERE NOT {holds}"
