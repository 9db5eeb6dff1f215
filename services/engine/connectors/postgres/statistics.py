"""Number ranges from PostgreSQL's planner statistics (pg_stats, filled by ANALYZE): the
smallest and largest of a column's histogram bounds and most common values. Reading them scans
no table, and only those two numbers per column leave this module."""

import math
from collections.abc import Sequence
from typing import Any

import psycopg

# Both arrays are anyarray; their text form ("{0.99,4.99}") is read for number columns only.
_QUERY = """
SELECT s.schemaname, s.tablename, s.attname, s.histogram_bounds::text, s.most_common_vals::text
FROM pg_stats AS s
JOIN unnest(%s::text[], %s::text[]) AS wanted (schema_name, table_name)
  ON s.schemaname = wanted.schema_name AND s.tablename = wanted.table_name
"""

Slot = tuple[str, str, str]  # schema, table, column


def number_ranges(
    conn: psycopg.Connection[Any], columns: Sequence[Slot]
) -> dict[Slot, tuple[float, float]]:
    wanted = set(columns)
    tables = sorted({(schema, table) for schema, table, _ in wanted})
    if not tables:
        return {}
    found: dict[Slot, tuple[float, float]] = {}
    rows = conn.execute(_QUERY, ([s for s, _ in tables], [t for _, t in tables])).fetchall()
    for schema, table, column, bounds, common in rows:
        slot = (schema, table, column)
        if slot not in wanted:
            continue
        # A partitioned table has rows for its own data and for its tree: all of them count.
        numbers = [*_numbers(bounds), *_numbers(common)]
        if slot in found:
            numbers.extend(found[slot])
        if numbers:
            found[slot] = (min(numbers), max(numbers))
    return found


def _numbers(array: str | None) -> list[float]:
    if not array:
        return []
    try:
        numbers = [float(v) for v in array.strip("{}").split(",") if v]
    except ValueError:  # not a number column after all
        return []
    return [n for n in numbers if math.isfinite(n)]
