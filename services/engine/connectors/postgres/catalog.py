"""Reads a PostgreSQL catalog into the engine's schema model."""

from typing import Any

import psycopg

from services.engine.schema import Column, ForeignKey, Table, TypeFamily

_TABLES = """
SELECT c.oid, n.nspname, c.relname, c.reltuples::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'
"""

# Domains are described by their base type; enum labels come along for init_schema.
_COLUMNS = """
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
       bt.typname, bt.typcategory,
       CASE WHEN bt.typname IN ('varchar', 'bpchar') AND a.atttypmod > 4
            THEN a.atttypmod - 4 END,
       ARRAY(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = bt.oid
             ORDER BY e.enumsortorder)
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
    columns: dict[int, list[Column]] = {oid: [] for oid in oids}
    for (
        oid,
        name,
        data_type,
        nullable,
        default,
        identity,
        generated,
        typname,
        category,
        max_length,
        labels,
    ) in conn.execute(_COLUMNS, (oids,)):
        columns[oid].append(
            Column(
                name=name,
                data_type=data_type,
                family=_family(typname, category),
                nullable=nullable,
                default=None if (identity or generated) else default,
                max_length=max_length,
                generated=default if generated else None,
                identity={"a": "always", "d": "by default"}.get(identity),
                enum_labels=tuple(labels),
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
    result = {}
    for oid, schema, name, estimate in tables:
        table = Table(
            schema=schema,
            name=name,
            columns=tuple(columns[oid]),
            primary_key=primary.get(oid, ()),
            unique=tuple(unique[oid]),
            foreign_keys=tuple(foreign[oid]),
            estimated_rows=max(int(estimate), 0),
        )
        result[table.qualified] = table
    return result
