"""init_schema on a PostgreSQL destination, beyond columns and keys: the user types tables
need, their check constraints, partitions, inheritance, indexes, and (when asked) views.
Names are composed with sql.Identifier; the SQL texts come from the source's own printing
(pg_get_constraintdef, pg_get_indexdef, ...), made schema-qualified when it was read."""

import graphlib
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql

from services.common.errors import InvalidArgumentError
from services.engine.schema import Table, UserType, View

_log = logging.getLogger(__name__)

Name = tuple[str, str]
Target = tuple[Table, Name]


def _exists(conn: psycopg.Connection[Any], function: str, name: sql.Composable) -> bool:
    row = conn.execute(
        sql.SQL("SELECT {}(%s) IS NOT NULL").format(sql.Identifier(function)),
        (name.as_string(conn),),
    ).fetchone()
    return bool(row and row[0])


def type_statements(conn: psycopg.Connection[Any], targets: Sequence[Target]) -> list[sql.Composed]:
    """CREATE SCHEMA / TYPE / DOMAIN for the user types the tables use and the destination
    lacks, each after the types it is built from. A type init_schema cannot create (from an
    extension, a range, a base type) that the destination lacks fails here, naming it, before
    anything is created."""
    needed: dict[Name, tuple[UserType, str]] = {}
    for table, (schema, name) in targets:
        for user_type in table.user_types:
            needed.setdefault((user_type.schema, user_type.name), (user_type, f"{schema}.{name}"))
    missing = [
        (user_type, user)
        for user_type, user in needed.values()
        if not _exists(conn, "to_regtype", sql.Identifier(user_type.schema, user_type.name))
    ]
    for user_type, user in missing:
        if user_type.kind == "other":
            how = (
                f"install the extension {user_type.extension} in the destination"
                if user_type.extension
                else "create it in the destination first"
            )
            raise InvalidArgumentError(
                "job.destinations",
                f"table {user} uses type {user_type.schema}.{user_type.name}, which init_schema "
                f"cannot create: {how}",
            )
    statements: list[sql.Composed] = [
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
        for schema in sorted({t.schema for t, _ in missing})
    ]
    return statements + [_create_type(t) for t, _ in missing]


def _create_type(user_type: UserType) -> sql.Composed:
    name = sql.Identifier(user_type.schema, user_type.name)
    if user_type.kind == "enum":
        labels = sql.SQL(", ").join(sql.Literal(v) for v in user_type.labels)
        return sql.SQL("CREATE TYPE {} AS ENUM ({})").format(name, labels)
    if user_type.kind == "composite":
        attributes = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in user_type.attributes
        )
        return sql.SQL("CREATE TYPE {} AS ({})").format(name, attributes)
    parts: list[sql.Composable] = [
        sql.SQL("CREATE DOMAIN {} AS {}").format(name, sql.SQL(user_type.base))
    ]
    if user_type.default is not None:
        parts.append(sql.SQL("DEFAULT {}").format(sql.SQL(user_type.default)))
    if user_type.not_null:
        parts.append(sql.SQL("NOT NULL"))
    parts += [
        sql.SQL("CONSTRAINT {} {}").format(sql.Identifier(c.name), sql.SQL(c.definition))
        for c in user_type.checks
    ]
    return sql.SQL(" ").join(parts)


def table_clauses(table: Table) -> list[sql.Composed]:
    """The table's check and exclusion constraints, as CREATE TABLE elements."""
    return [
        sql.SQL("CONSTRAINT {} {}").format(sql.Identifier(c.name), sql.SQL(c.definition))
        for c in table.checks
    ]


def present_parents(conn: psycopg.Connection[Any], targets: Sequence[Target]) -> set[Name]:
    """The inheritance parents of the targets that the destination has or is creating."""
    creating = {name for _, name in targets}
    wanted = {p for table, _ in targets for p in table.inherits}
    return {p for p in wanted if p in creating or _exists(conn, "to_regclass", sql.Identifier(*p))}


def table_suffix(table: Table, present: set[Name]) -> sql.Composable:
    """What follows CREATE TABLE's parentheses: INHERITS the parents the destination has (or
    is creating), PARTITION BY for a partitioned table."""
    suffix: list[sql.Composable] = []
    parents = [p for p in table.inherits if p in present]
    if parents:
        suffix.append(
            sql.SQL(" INHERITS ({})").format(
                sql.SQL(", ").join(sql.Identifier(*p) for p in parents)
            )
        )
    if table.partition_by:
        suffix.append(sql.SQL(" PARTITION BY {}").format(sql.SQL(table.partition_by)))
    return sql.Composed(suffix)


def partition_statements(table: Table) -> list[sql.Composed]:
    """CREATE TABLE ... PARTITION OF for every partition, each after its parent."""
    statements = []
    for part in table.partitions:
        statement = sql.SQL("CREATE TABLE {} PARTITION OF {} {}").format(
            sql.Identifier(part.schema, part.name),
            sql.Identifier(*part.parent),
            sql.SQL(part.bound),
        )
        if part.partition_by:
            statement += sql.SQL(" PARTITION BY {}").format(sql.SQL(part.partition_by))
        statements.append(statement)
    return statements


def index_statements(table: Table, schema: str, name: str) -> list[sql.Composed]:
    """The table's indexes that back no constraint; on a partitioned table each one cascades
    to the partitions."""
    return [
        sql.SQL("CREATE {}INDEX IF NOT EXISTS {} ON {} {}").format(
            sql.SQL("UNIQUE " if index.unique else ""),
            sql.Identifier(index.name),
            sql.Identifier(schema, name),
            sql.SQL(index.definition),
        )
        for index in table.indexes
    ]


def parents_first(targets: Sequence[Target]) -> list[Target]:
    """The targets, each after the inheritance parents among them; otherwise in their order."""
    position = {name: i for i, (_, name) in enumerate(targets)}
    graph = {
        i: {position[p] for p in table.inherits if p in position}
        for i, (table, _) in enumerate(targets)
    }
    sorter = graphlib.TopologicalSorter(graph)
    sorter.prepare()
    order: list[int] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())  # plan order among the ready ones
        order += ready
        sorter.done(*ready)
    return [targets[i] for i in order]


def create_views(
    conn: psycopg.Connection[Any],
    views: Iterable[View],
    present: set[str],
    target_name: Callable[[str, str], Name],
) -> list[str]:
    """Create the views whose every relation is in the destination under its source name,
    each after the views it reads; returns their qualified names. A view that reads a
    relation the destination lacks or renames, or that the destination refuses (a function
    or type it lacks), is left out with a warning; the tables stay."""
    pending = {(v.schema, v.name): v for v in views}
    order = graphlib.TopologicalSorter(
        {key: {d for d in view.depends_on if d in pending} for key, view in pending.items()}
    ).static_order()
    created: list[str] = []
    available = set(present)

    def there(relation: Name) -> bool:
        dotted = ".".join(relation)
        if dotted not in available and _exists(conn, "to_regclass", sql.Identifier(*relation)):
            available.add(dotted)
        return dotted in available

    for key in order:
        view = pending[key]
        if target_name(*key) != key or there(key):
            continue  # renamed by the job, or there already
        lacking = [".".join(d) for d in view.depends_on if target_name(*d) != d or not there(d)]
        if lacking:
            _log.warning("view %s.%s not created: it reads %s", *key, ", ".join(lacking))
            continue
        try:
            with conn.transaction():  # a savepoint: a refused view leaves the rest standing
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(key[0]))
                )
                conn.execute(
                    sql.SQL("CREATE VIEW {} AS {}").format(
                        sql.Identifier(*key), sql.SQL(view.definition.rstrip().rstrip(";"))
                    )
                )
        except psycopg.Error as err:
            _log.warning("view %s.%s not created: %s", *key, err.diag.message_primary or err)
            continue
        available.add(".".join(key))
        created.append(".".join(key))
    return created
