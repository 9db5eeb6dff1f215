"""The foreign-key constraints of a PostgreSQL destination that a load group defers: found by
what they join (a destination names its constraints its own way), deferred for the group's
transaction when they are DEFERRABLE, and a refusal naming the fix when they are not."""

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from services.engine.connectors.base import LoadGroup

# The foreign keys from a table's columns (in order) to another table, by the tables' names.
_MATCHING = """
SELECT n.nspname, c.conname, c.condeferrable
FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
WHERE c.contype = 'f'
  AND c.conrelid = to_regclass(format('%%I.%%I', %s::text, %s::text))
  AND c.confrelid = to_regclass(format('%%I.%%I', %s::text, %s::text))
  AND ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(num, ord)
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num
            ORDER BY k.ord) = %s::text[]
ORDER BY c.conname
"""


@dataclass(frozen=True)
class Relaxed:
    schema: str  # the constraint's, as SET CONSTRAINTS names it
    name: str
    table: tuple[str, str]
    deferrable: bool


def relaxed_constraints(conn: psycopg.Connection[Any], group: LoadGroup) -> list[Relaxed]:
    """The constraints enforcing the group's relaxed foreign keys in this database; none for
    a table without them (init_schema adds them after the data)."""
    found = []
    for table, ref in group.relaxed:
        rows = conn.execute(_MATCHING, (*table, *ref.table, list(ref.columns))).fetchall()
        found += [Relaxed(schema, name, table, deferrable) for schema, name, deferrable in rows]
    return found


def refusal(constraints: list[Relaxed], group: LoadGroup) -> str | None:
    """Why the group cannot be loaded with these constraints deferred, and the fix."""
    stuck = [c for c in constraints if not c.deferrable]
    if not stuck:
        return None
    names = ", ".join(f"{c.name} on {'.'.join(c.table)}" for c in stuck)
    first = stuck[0]
    return (
        f"the foreign-key cycle of {', '.join('.'.join(t) for t in group.tables)} is loaded "
        f"with its constraints deferred, but {names} "
        f"{'is' if len(stuck) == 1 else 'are'} NOT DEFERRABLE: make "
        f"{'it' if len(stuck) == 1 else 'them'} DEFERRABLE (ALTER TABLE "
        f"{'.'.join(first.table)} ALTER CONSTRAINT {first.name} DEFERRABLE), or let "
        "init_schema create the tables"
    )


def defer(constraints: list[Relaxed]) -> sql.Composed | None:
    """The statement deferring the constraints to the end of the transaction."""
    if not constraints:
        return None
    names = sql.SQL(", ").join(sql.Identifier(c.schema, c.name) for c in constraints)
    return sql.SQL("SET CONSTRAINTS {} DEFERRED").format(names)
