"""Reads what init_schema recreates beyond columns and keys: the user-defined types columns
use, check and exclusion constraints, indexes, partitions, inheritance parents and views.

Read with search_path set to pg_catalog (QUALIFIED), every SQL text here (type names,
expressions, index and view definitions) names each non-built-in object with its schema and
means the same in a destination whatever that one's search_path is."""

import dataclasses
import graphlib
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import psycopg

from services.engine.schema import Constraint, Index, Partition, UserType, View

# For the rest of the transaction: PostgreSQL prints every name outside pg_catalog qualified.
QUALIFIED = "SET LOCAL search_path = pg_catalog"

# Every type the given columns use, through array elements, domain bases and composite
# attributes; those outside the system schemas are the user's. An array is a base type of
# category A (a domain over an array has that category too, and is a type of its own).
_TYPES = """
WITH RECURSIVE used(oid) AS (
    SELECT a.atttypid FROM pg_attribute a
    WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
  UNION
    SELECT d.dep FROM used u JOIN pg_type t ON t.oid = u.oid
    CROSS JOIN LATERAL (
        SELECT t.typelem WHERE t.typtype = 'b' AND t.typcategory = 'A' AND t.typelem <> 0
        UNION ALL SELECT t.typbasetype WHERE t.typtype = 'd'
        UNION ALL SELECT a.atttypid FROM pg_attribute a JOIN pg_class r ON r.oid = a.attrelid
        WHERE t.typtype = 'c' AND r.relkind = 'c' AND a.attrelid = t.typrelid
          AND a.attnum > 0 AND NOT a.attisdropped
    ) d(dep)
)
SELECT t.oid, n.nspname, t.typname,
       CASE WHEN t.typtype = 'e' THEN 'enum' WHEN t.typtype = 'd' THEN 'domain'
            WHEN t.typtype = 'c' AND r.relkind = 'c' THEN 'composite' ELSE 'other' END,
       ARRAY(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid
             ORDER BY e.enumsortorder),
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) ELSE '' END,
       t.typnotnull, pg_get_expr(t.typdefaultbin, 0),
       ARRAY(SELECT c.conname FROM pg_constraint c
             WHERE c.contypid = t.oid AND c.contype = 'c' AND c.convalidated ORDER BY c.conname),
       ARRAY(SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
             WHERE c.contypid = t.oid AND c.contype = 'c' AND c.convalidated ORDER BY c.conname),
       ARRAY(SELECT a.attname FROM pg_attribute a
             WHERE a.attrelid = t.typrelid AND r.relkind = 'c' AND a.attnum > 0
               AND NOT a.attisdropped ORDER BY a.attnum),
       ARRAY(SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
             WHERE a.attrelid = t.typrelid AND r.relkind = 'c' AND a.attnum > 0
               AND NOT a.attisdropped ORDER BY a.attnum),
       COALESCE((SELECT x.extname FROM pg_depend d JOIN pg_extension x ON x.oid = d.refobjid
                 WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                   AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'), ''),
       ARRAY(SELECT CASE WHEN b.typtype = 'b' AND b.typcategory = 'A' THEN b.typelem
                         ELSE b.oid END
             FROM pg_type b
             WHERE (t.typtype = 'd' AND b.oid = t.typbasetype)
                OR (r.relkind = 'c' AND b.oid IN (
                    SELECT a.atttypid FROM pg_attribute a WHERE a.attrelid = t.typrelid
                    AND a.attnum > 0 AND NOT a.attisdropped)))
FROM used JOIN pg_type t ON t.oid = used.oid
JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_class r ON r.oid = t.typrelid
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT (t.typtype = 'b' AND t.typcategory = 'A')
"""

# The types each table's columns use directly (array columns: their element type).
_COLUMN_TYPES = """
SELECT DISTINCT a.attrelid,
       CASE WHEN t.typtype = 'b' AND t.typcategory = 'A' THEN t.typelem ELSE t.oid END
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
"""

# Check and exclusion constraints; NOT VALID ones are left out: rows the source kept despite
# them would fail the copy.
_CHECKS = """
SELECT c.conrelid, c.conname, pg_get_constraintdef(c.oid)
FROM pg_constraint c
WHERE c.conrelid = ANY(%s) AND c.contype IN ('c', 'x') AND c.convalidated
ORDER BY c.conrelid, c.conname
"""

# Indexes that back no key or constraint, with what pg_get_indexdef prints after the table's
# name ("USING btree (a) WHERE ..."): the prefix is rebuilt here and checked, so a name
# holding " USING " cannot cut the definition in the wrong place.
_INDEXES = """
SELECT i.indrelid, ic.relname, i.indisunique,
       CASE WHEN left(d.def, length(d.head)) = d.head THEN substr(d.def, length(d.head) + 1) END
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (
    SELECT pg_get_indexdef(i.indexrelid) AS def,
           'CREATE ' || CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX '
           || quote_ident(ic.relname) || ' ON '
           || CASE WHEN c.relkind = 'p' THEN 'ONLY ' ELSE '' END
           || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' ' AS head
) d
WHERE i.indrelid = ANY(%s) AND i.indisvalid AND i.indislive
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = i.indrelid
                  AND k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))
ORDER BY i.indrelid, ic.relname
"""

_PARTITIONS = """
WITH RECURSIVE parts(oid, parent, root, depth) AS (
    SELECT i.inhrelid, i.inhparent, i.inhparent, 1 FROM pg_inherits i
    WHERE i.inhparent = ANY(%s)
  UNION ALL
    SELECT i.inhrelid, i.inhparent, p.root, p.depth + 1
    FROM pg_inherits i JOIN parts p ON i.inhparent = p.oid
)
SELECT p.root, n.nspname, c.relname, pn.nspname, pc.relname,
       pg_get_expr(c.relpartbound, c.oid),
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) ELSE '' END
FROM parts p
JOIN pg_class c ON c.oid = p.oid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class pc ON pc.oid = p.parent JOIN pg_namespace pn ON pn.oid = pc.relnamespace
WHERE c.relispartition
ORDER BY p.root, p.depth, n.nspname, c.relname
"""

_PARTITION_KEYS = """
SELECT c.oid, pg_get_partkeydef(c.oid) FROM pg_class c
WHERE c.oid = ANY(%s) AND c.relkind = 'p'
"""

# Inheritance parents (table inheritance, not declarative partitioning), in declared order.
_PARENTS = """
SELECT i.inhrelid, n.nspname, c.relname
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class child ON child.oid = i.inhrelid
WHERE i.inhrelid = ANY(%s) AND NOT child.relispartition
ORDER BY i.inhrelid, i.inhseqno
"""

_VIEWS = """
SELECT n.nspname, c.relname, pg_get_viewdef(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'v' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'
ORDER BY n.nspname, c.relname
"""

# The relations each view reads (through its rewrite rule), itself left out.
_VIEW_DEPENDENCIES = """
SELECT DISTINCT n.nspname, c.relname, rn.nspname, rc.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_rewrite w ON w.ev_class = c.oid
JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid
     AND d.refclassid = 'pg_class'::regclass
JOIN pg_class rc ON rc.oid = d.refobjid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE c.relkind = 'v' AND rc.oid <> c.oid
"""


@dataclasses.dataclass(frozen=True)
class TableObjects:
    """What one table has beyond columns and keys."""

    checks: tuple[Constraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    partition_by: str = ""
    partitions: tuple[Partition, ...] = ()
    inherits: tuple[tuple[str, str], ...] = ()
    user_types: tuple[UserType, ...] = ()


def table_objects(conn: psycopg.Connection[Any], oids: list[int]) -> dict[int, TableObjects]:
    """Each table's objects, by table oid."""
    checks: dict[int, list[Constraint]] = defaultdict(list)
    for oid, name, definition in conn.execute(_CHECKS, (oids,)):
        checks[oid].append(Constraint(name, definition))
    indexes: dict[int, list[Index]] = defaultdict(list)
    for oid, name, unique, definition in conn.execute(_INDEXES, (oids,)):
        if definition is not None:  # a definition PostgreSQL printed in a form not foreseen
            indexes[oid].append(Index(name, definition, unique))
    keys = dict(conn.execute(_PARTITION_KEYS, (oids,)).fetchall())
    partitions: dict[int, list[Partition]] = defaultdict(list)
    for root, schema, name, parent_schema, parent, bound, key in conn.execute(_PARTITIONS, (oids,)):
        partitions[root].append(Partition(schema, name, (parent_schema, parent), bound, key))
    parents: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for oid, schema, name in conn.execute(_PARENTS, (oids,)):
        parents[oid].append((schema, name))
    types = _user_types(conn, oids)
    return {
        oid: TableObjects(
            checks=tuple(checks[oid]),
            indexes=tuple(indexes[oid]),
            partition_by=str(keys.get(oid, "")),
            partitions=tuple(partitions[oid]),
            inherits=tuple(parents[oid]),
            user_types=types.get(oid, ()),
        )
        for oid in oids
    }


def _user_types(conn: psycopg.Connection[Any], oids: list[int]) -> dict[int, tuple[UserType, ...]]:
    """The user types each table needs, every type after the types it is built from."""
    found: dict[int, UserType] = {}
    needs: dict[int, set[int]] = {}
    for row in conn.execute(_TYPES, (oids,)):
        oid, schema, name, kind, labels, base, not_null, default = row[:8]
        check_names, check_defs, attr_names, attr_types, extension, deps = row[8:]
        found[oid] = UserType(
            schema=schema,
            name=name,
            kind=kind,
            labels=tuple(labels),
            base=base,
            not_null=bool(not_null),
            default=default,
            checks=tuple(Constraint(n, d) for n, d in zip(check_names, check_defs, strict=True)),
            attributes=tuple(zip(attr_names, attr_types, strict=True)),
            extension=extension,
        )
        needs[oid] = set(deps)
    order = list(
        graphlib.TopologicalSorter({t: needs[t] & found.keys() for t in found}).static_order()
    )
    direct: dict[int, set[int]] = defaultdict(set)
    for table, type_oid in conn.execute(_COLUMN_TYPES, (oids,)):
        direct[table].add(type_oid)
    result = {}
    for table, used in direct.items():
        closure = _closure(used & found.keys(), needs, found.keys())
        result[table] = tuple(found[t] for t in order if t in closure)
    return result


def _closure(start: Iterable[int], needs: dict[int, set[int]], known: Iterable[int]) -> set[int]:
    known = set(known)
    seen: set[int] = set()
    stack = list(start)
    while stack:
        oid = stack.pop()
        if oid in seen:
            continue
        seen.add(oid)
        stack += [d for d in needs.get(oid, ()) if d in known]
    return seen


def views(conn: psycopg.Connection[Any]) -> tuple[View, ...]:
    """Every plain view outside the system schemas, with the relations it reads."""
    conn.execute(QUALIFIED)
    depends: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for schema, name, ref_schema, ref_name in conn.execute(_VIEW_DEPENDENCIES):
        depends[(schema, name)].append((ref_schema, ref_name))
    return tuple(
        View(schema, name, definition, tuple(sorted(depends[(schema, name)])))
        for schema, name, definition in conn.execute(_VIEWS)
    )
