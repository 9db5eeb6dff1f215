"""Reads a PostgreSQL catalog into the engine's schema model."""

from typing import Any

import psycopg

from services.engine.connectors.postgres.objects import QUALIFIED, table_objects
from services.engine.schema import Column, ForeignKey, Table, TypeFamily

_TABLES = """
SELECT c.oid, n.nspname, c.relname, c.reltuples::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'
"""

# Type names as the user sees them, under the session's search_path (what jobs, drift
# snapshots and transformers' messages show).
_SHOWN_TYPES = """
SELECT a.attrelid, a.attnum, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
"""

# Domains are described by their base type; enum labels come along for init_schema, and so
# does the sequence a default draws from (found through the default's dependency on it, so
# whatever its name holds).
_COLUMNS = """
SELECT a.attrelid, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
       bt.typname, bt.typcategory,
       CASE WHEN bt.typname IN ('varchar', 'bpchar') AND a.atttypmod > 4
            THEN a.atttypmod - 4 END,
       ARRAY(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = bt.oid
             ORDER BY e.enumsortorder),
       (SELECT ARRAY[sn.nspname, s.relname] FROM pg_depend dep
        JOIN pg_class s ON s.oid = dep.refobjid AND s.relkind = 'S'
        JOIN pg_namespace sn ON sn.oid = s.relnamespace
        WHERE dep.classid = 'pg_attrdef'::regclass AND dep.objid = d.oid
          AND dep.refclassid = 'pg_class'::regclass LIMIT 1)
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""

_CONSTRAINTS = """
SELECT c.conrelid, c.contype, c.conname,
       ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(num, ord)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num
             ORDER BY k.ord),
       rn.nspname, r.relname,
       ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(num, ord)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.num
             ORDER BY k.ord)
FROM pg_constraint c
LEFT JOIN pg_class r ON r.oid = c.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace
WHERE c.conrelid = ANY(%s) AND c.contype IN ('p', 'u', 'f')
ORDER BY c.conrelid, c.conname
"""

_INTEGERS = {"int2", "int4", "int8"}


def _family(typname: str, category: str) -> TypeFamily:
    if typname in _INTEGERS:
        return TypeFamily.INTEGER
    if typname == "uuid":
        return TypeFamily.UUID
    if typname in ("json", "jsonb"):
        return TypeFamily.JSON
    if typname == "bytea":
        return TypeFamily.BINARY
    return {
        "S": TypeFamily.TEXT,
        "N": TypeFamily.NUMERIC,
        "B": TypeFamily.BOOLEAN,
        "D": TypeFamily.TEMPORAL,
    }.get(category, TypeFamily.OTHER)


def introspect(conn: psycopg.Connection[Any]) -> dict[str, Table]:
    tables = conn.execute(_TABLES).fetchall()
    oids = [row[0] for row in tables]
    shown = {(oid, num): name for oid, num, name in conn.execute(_SHOWN_TYPES, (oids,))}
    # Everything read from here on names non-built-in objects with their schema: init_schema
    # runs it in another database, whose search_path may differ.
    conn.execute(QUALIFIED)
    # PostgreSQL's JIT compiles the type-closure query for most of a second and saves nothing
    # on catalogs this size.
    conn.execute("SET LOCAL jit = off")
    columns: dict[int, list[Column]] = {oid: [] for oid in oids}
    for (
        oid,
        num,
        name,
        qualified_type,
        nullable,
        default,
        identity,
        generated,
        typname,
        category,
        max_length,
        labels,
        sequence,
    ) in conn.execute(_COLUMNS, (oids,)):
        data_type = shown[(oid, num)]
        columns[oid].append(
            Column(
                name=name,
                data_type=data_type,
                qualified_type="" if qualified_type == data_type else qualified_type,
                family=_family(typname, category),
                nullable=nullable,
                default=None if (identity or generated) else default,
                max_length=max_length,
                generated=default if generated else None,
                identity={"a": "always", "d": "by default"}.get(identity),
                enum_labels=tuple(labels),
                sequence=(sequence[0], sequence[1]) if sequence else None,
            )
        )
    primary: dict[int, tuple[str, ...]] = {}
    unique: dict[int, list[tuple[str, ...]]] = {oid: [] for oid in oids}
    foreign: dict[int, list[ForeignKey]] = {oid: [] for oid in oids}
    for oid, kind, name, cols, ref_schema, ref_table, ref_cols in conn.execute(
        _CONSTRAINTS, (oids,)
    ):
        if kind == "p":
            primary[oid] = tuple(cols)
        elif kind == "u":
            unique[oid].append(tuple(cols))
        else:
            foreign[oid].append(
                ForeignKey(name, tuple(cols), ref_schema, ref_table, tuple(ref_cols))
            )
    objects = table_objects(conn, oids)
    result = {}
    for oid, schema, name, estimate in tables:
        extra = objects[oid]
        table = Table(
            schema=schema,
            name=name,
            columns=tuple(columns[oid]),
            primary_key=primary.get(oid, ()),
            unique=tuple(unique[oid]),
            foreign_keys=tuple(foreign[oid]),
            estimated_rows=max(int(estimate), 0),
            checks=extra.checks,
            indexes=extra.indexes,
            partition_by=extra.partition_by,
            partitions=extra.partitions,
            inherits=extra.inherits,
            user_types=extra.user_types,
        )
        result[table.qualified] = table
    return result
