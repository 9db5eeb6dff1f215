"""The condition a writer puts on staged rows to leave out those whose references would
dangle. It is standard SQL (EXISTS, IS NULL) that PostgreSQL, MySQL/MariaDB and SQLite all
run; each connector brings its own identifier quoting."""

from collections.abc import Callable, Sequence

from services.engine.connectors.base import Reference


def references_hold(references: Sequence[Reference], quote: Callable[[str], str]) -> str | None:
    """True for a staged row `s` whose every reference has a NULL column or names an existing
    row of the referenced table (MATCH SIMPLE, as the engines' own foreign keys); None when
    nothing is checked. Never NULL itself, so NOT (...) selects exactly the rows left out."""
    if not references:
        return None
    checks = []
    for ref in references:
        nulls = " OR ".join(f"s.{quote(c)} IS NULL" for c in ref.columns)
        matches = " AND ".join(
            f"p.{quote(r)} = s.{quote(c)}"
            for c, r in zip(ref.columns, ref.referenced_columns, strict=True)
        )
        parent = ".".join(map(quote, ref.table))
        checks.append(f"({nulls} OR EXISTS (SELECT 1 FROM {parent} AS p WHERE {matches}))")
    return " AND ".join(checks)
