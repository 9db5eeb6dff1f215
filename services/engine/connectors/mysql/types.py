"""MySQL/MariaDB types: their families, their Arrow form when read, and the explicit mapping
of column types between MySQL and the other engines. Every cross-engine type choice for a
MySQL destination (and for a MySQL source into PostgreSQL) is made from the tables here, so a
type that has no faithful counterpart fails with one clear error instead of a lossy guess."""

import re

import pyarrow as pa

from services.common.errors import InvalidArgumentError
from services.engine.schema import Column, TypeFamily

# MariaDB shows `int(11)`, MySQL 8 `int`: the base name is what both agree on.
_BASE = re.compile(r"^\s*(?P<name>[a-z0-9]+)\s*(?:\((?P<args>[^)]*)\))?(?P<rest>.*)$", re.I)

FAMILIES: dict[str, TypeFamily] = {
    **dict.fromkeys(
        ("tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year"), TypeFamily.INTEGER
    ),
    **dict.fromkeys(("decimal", "numeric", "float", "double", "real"), TypeFamily.NUMERIC),
    **dict.fromkeys(("bool", "boolean"), TypeFamily.BOOLEAN),
    **dict.fromkeys(("date", "datetime", "timestamp", "time"), TypeFamily.TEMPORAL),
    **dict.fromkeys(
        ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"), TypeFamily.BINARY
    ),
    **dict.fromkeys(
        ("char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set"),
        TypeFamily.TEXT,
    ),
    "json": TypeFamily.JSON,
    "uuid": TypeFamily.UUID,  # MariaDB 10.7+
}


def base_type(column_type: str) -> tuple[str, str, bool]:
    """(base name, its arguments, unsigned) of a COLUMN_TYPE such as `int(10) unsigned`."""
    match = _BASE.match(column_type)
    if match is None:
        return column_type.lower(), "", False
    return match["name"].lower(), match["args"] or "", "unsigned" in match["rest"].lower()


def is_boolean(column_type: str) -> bool:
    # BOOLEAN is stored as tinyint(1); MySQL 8 keeps that one display width for this reason.
    return column_type.lower().replace(" ", "") in ("tinyint(1)", "bool", "boolean")


def family(column_type: str) -> TypeFamily:
    if is_boolean(column_type):
        return TypeFamily.BOOLEAN
    return FAMILIES.get(base_type(column_type)[0], TypeFamily.OTHER)


def arrow_type(column_type: str) -> pa.DataType:
    """The Arrow type a column is read as; the server's text form is cast to it in bulk."""
    name, args, unsigned = base_type(column_type)
    if is_boolean(column_type):
        return pa.bool_()
    if name in ("tinyint", "smallint", "mediumint", "int", "integer", "year"):
        return pa.int64()
    if name == "bigint":
        return pa.uint64() if unsigned else pa.int64()
    if name in ("decimal", "numeric"):
        precision, _, scale = args.partition(",")
        p, s = int(precision or 10), int(scale or 0)
        return pa.decimal128(p, s) if p <= 38 else pa.decimal256(p, s)
    if name in ("float", "double", "real"):
        return pa.float64()
    if name == "date":
        return pa.date32()
    if name == "datetime":
        return pa.timestamp("us")
    if name == "timestamp":
        return pa.timestamp("us", "UTC")  # sessions run in UTC, so the text is UTC
    if FAMILIES.get(name) == TypeFamily.BINARY or name in ("bit", "geometry"):
        return pa.binary()
    return pa.string()  # text, enum, set, json, time (a duration up to 838 hours), ...


# --- into MySQL ---------------------------------------------------------------------------

# Text columns in a key need a bounded length: 768 utf8mb4 characters fill InnoDB's 3072 bytes.
KEY_TEXT = "VARCHAR(768)"

# PostgreSQL format_type() names (modifiers removed) to MySQL column types.
_FROM_POSTGRES: dict[str, str] = {
    "smallint": "SMALLINT",
    "integer": "INT",
    "bigint": "BIGINT",
    "real": "FLOAT",
    "double precision": "DOUBLE",
    "boolean": "TINYINT(1)",
    "text": "LONGTEXT",
    "character varying": "LONGTEXT",
    "character": "CHAR",
    "name": "VARCHAR(64)",
    "date": "DATE",
    "timestamp without time zone": "DATETIME(6)",
    # An instant is stored as UTC wall time: DATETIME spans years 1000-9999, TIMESTAMP only
    # 1970-2038; the writer converts offsets to UTC.
    "timestamp with time zone": "DATETIME(6)",
    "time without time zone": "TIME(6)",
    "bytea": "LONGBLOB",
    "json": "JSON",
    "jsonb": "JSON",
    "uuid": "CHAR(36)",
    "inet": "VARCHAR(43)",
    "cidr": "VARCHAR(43)",
    "macaddr": "VARCHAR(17)",
    "xml": "LONGTEXT",
    "numeric": "DECIMAL",
}

# Engines without typed columns of their own (SQLite) map by family.
_BY_FAMILY: dict[TypeFamily, str] = {
    TypeFamily.TEXT: "LONGTEXT",
    TypeFamily.INTEGER: "BIGINT",
    TypeFamily.NUMERIC: "DOUBLE",
    TypeFamily.BOOLEAN: "TINYINT(1)",
    TypeFamily.TEMPORAL: "LONGTEXT",  # SQLite keeps dates as free-form text
    TypeFamily.BINARY: "LONGBLOB",
    TypeFamily.JSON: "JSON",
    TypeFamily.UUID: "CHAR(36)",
    TypeFamily.OTHER: "LONGTEXT",
}

# Families that would map but whose text form MySQL cannot parse.
_NO_MYSQL_FORM = {"money", "time with time zone", "interval"}

_PG_MODIFIERS = re.compile(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")


def _unmappable(column: Column, engine: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        "job.destinations",
        f"column {column.name} of type {column.data_type} cannot be mapped to {engine}",
    )


def _from_postgres(column: Column) -> str:
    data_type = column.data_type.lower()
    if column.enum_labels:
        labels = ", ".join(
            "'" + v.replace("\\", "\\\\").replace("'", "''") + "'" for v in column.enum_labels
        )
        return f"ENUM({labels})"
    if data_type.endswith("]"):
        raise _unmappable(column, "MySQL")  # arrays have no MySQL counterpart
    modifiers = _PG_MODIFIERS.search(data_type)
    name = _PG_MODIFIERS.sub("", data_type).strip()
    mapped = _FROM_POSTGRES.get(name)
    if name in _NO_MYSQL_FORM:
        raise _unmappable(column, "MySQL")
    if mapped is None:
        # Domains and extension types are described by their base type's family; a family
        # whose values have no MySQL text form (ranges, intervals, geometry...) cannot map.
        if column.family in (TypeFamily.TEMPORAL, TypeFamily.OTHER):
            raise _unmappable(column, "MySQL")
        return _BY_FAMILY[column.family]
    if name == "numeric":
        # Unconstrained numeric gets MySQL's widest DECIMAL.
        return f"DECIMAL({modifiers[1]},{modifiers[2] or 0})" if modifiers else "DECIMAL(65,30)"
    if name in ("character varying", "character") and modifiers:
        return f"{'VARCHAR' if name == 'character varying' else 'CHAR'}({modifiers[1]})"
    if name.startswith(("timestamp", "time ")) and modifiers:
        return f"{mapped.split('(')[0]}({modifiers[1]})"
    return mapped


def mysql_column_type(column: Column, source_engine: str, in_key: bool) -> str:
    """The MySQL type of a column coming from `source_engine`; InvalidArgumentError naming
    the column when there is none."""
    if source_engine == "mysql":
        return column.data_type  # COLUMN_TYPE: valid DDL by construction
    if source_engine == "postgres":
        mapped = _from_postgres(column)
    elif column.family == TypeFamily.TEXT and column.max_length:
        mapped = f"VARCHAR({int(column.max_length)})"
    else:
        mapped = _BY_FAMILY[column.family]
    if in_key and mapped in ("LONGTEXT", "JSON"):
        return KEY_TEXT
    if in_key and mapped == "LONGBLOB":
        return "VARBINARY(3072)"
    return mapped


# --- from MySQL into PostgreSQL ------------------------------------------------------------

_TO_POSTGRES: dict[str, str] = {
    "tinyint": "smallint",
    "smallint": "smallint",
    "mediumint": "integer",
    "int": "integer",
    "integer": "integer",
    "bigint": "bigint",
    "year": "smallint",
    "float": "real",
    "double": "double precision",
    "real": "double precision",
    "char": "varchar",
    "varchar": "varchar",
    "tinytext": "text",
    "text": "text",
    "mediumtext": "text",
    "longtext": "text",
    "enum": "text",
    "set": "text",
    "date": "date",
    "datetime": "timestamp",
    "timestamp": "timestamp with time zone",
    "time": "time",
    "binary": "bytea",
    "varbinary": "bytea",
    "tinyblob": "bytea",
    "blob": "bytea",
    "mediumblob": "bytea",
    "longblob": "bytea",
    "json": "jsonb",
    "uuid": "uuid",
    "inet4": "inet",
    "inet6": "inet",
}

# Unsigned integers need the next wider PostgreSQL type to keep their upper half.
_UNSIGNED = {
    "smallint": "integer",
    "mediumint": "integer",
    "int": "bigint",
    "integer": "bigint",
    "bigint": "numeric(20)",
}


def postgres_type_for_mysql(column: Column) -> str:
    """The PostgreSQL type of a MySQL column; InvalidArgumentError naming it when none fits."""
    if is_boolean(column.data_type):
        return "boolean"
    name, args, unsigned = base_type(column.data_type)
    if name in ("decimal", "numeric"):
        return f"numeric({args})" if args else "numeric"
    if unsigned and name in _UNSIGNED:
        # An identity needs an integer type; 2**63 keys are plenty for a copied table.
        return "bigint" if column.identity and name == "bigint" else _UNSIGNED[name]
    mapped = _TO_POSTGRES.get(name)
    if mapped is None:
        raise _unmappable(column, "PostgreSQL")  # bit, geometry and other spatial types
    if mapped == "varchar" and args:
        return f"varchar({args})"
    if name in ("datetime", "timestamp", "time") and args:
        first, _, rest = mapped.partition(" ")  # fractional digits go after the first word
        return f"{first}({args}) {rest}".strip()
    return "text" if mapped == "varchar" else mapped
