"""Can each init_schema destination take the tables it would create? Checked when a job is
validated, saved and planned, from the source's schema and the destinations' engines alone,
so a column type an engine has no counterpart for fails the job there, not mid-run.

What depends on the destination's contents (a PostgreSQL extension type it lacks) is checked
when the run creates the tables, before any of them is created."""

from collections.abc import Sequence

from services.common.errors import InvalidArgumentError
from services.engine.connectors.mysql.types import mysql_column_type, postgres_type_for_mysql
from services.engine.schema import Schema, Table
from veilsync.temporal.v1 import sync_pb2


def check_init_schema(
    plan: sync_pb2.SyncPlan, schema: Schema, destination_engines: Sequence[str]
) -> None:
    """InvalidArgumentError naming the destination, table and column of the first type an
    init_schema destination cannot create, or an init_schema_views it cannot honour."""
    tables = [schema.tables[f"{t.schema}.{t.name}"] for t in plan.tables]
    for index, (destination, engine) in enumerate(
        zip(plan.destinations, destination_engines, strict=True)
    ):
        field = f"job.destinations[{index}]"
        if destination.init_schema_views and not destination.init_schema:
            raise InvalidArgumentError(field, "init_schema_views needs init_schema")
        if destination.init_schema_views and (schema.engine, engine) != ("postgres", "postgres"):
            raise InvalidArgumentError(
                field,
                f"init_schema_views recreates views from PostgreSQL to PostgreSQL only, not "
                f"from {schema.engine} to {engine}",
            )
        if destination.init_schema:
            for table in tables:
                _check_types(table, schema.engine, engine, field)


def _check_types(table: Table, source_engine: str, engine: str, field: str) -> None:
    keys = {c for key in (table.primary_key, *table.unique) for c in key}
    for column in table.columns:
        try:
            if engine == "mysql":
                mysql_column_type(column, source_engine, column.name in keys)
            elif engine == "postgres" and source_engine == "mysql":
                postgres_type_for_mysql(column)
        except InvalidArgumentError as err:
            raise InvalidArgumentError(
                field, f"init_schema cannot create table {table.qualified}: {err.description}"
            ) from err
