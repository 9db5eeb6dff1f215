"""Connections and connection checks as API messages."""

from collections.abc import Mapping, Sequence

from services.common.logging import scrub
from services.common.store.records import ConnectionRecord
from services.engine.inspect.privileges import Privilege
from services.engine.inspect.reachability import ConnectionCheck
from services.engine.schema import Schema
from veilsync.v1 import connection_pb2


def connection_to_proto(record: ConnectionRecord) -> connection_pb2.Connection:
    message = connection_pb2.Connection(
        id=record.id,
        name=record.name,
        engine=connection_pb2.Engine.ValueType(record.engine),
        redacted_url=record.redacted_url,
    )
    message.create_time.FromDatetime(record.create_time)
    return message


def check_to_proto(check: ConnectionCheck) -> connection_pb2.CheckConnectionResponse:
    # Scrubbed again here: a driver message may quote the URL it was given.
    return connection_pb2.CheckConnectionResponse(
        reachable=check.reachable,
        message=scrub(check.message),
        server_version=check.server_version,
    )


def privileges_to_proto(
    check: connection_pb2.CheckConnectionResponse, privileges: Sequence[Privilege]
) -> connection_pb2.CheckConnectionResponse:
    check.privileges.extend(
        connection_pb2.PrivilegeCheck(privilege=p.privilege, object=p.object, granted=p.granted)
        for p in privileges
    )
    check.sufficient = check.reachable and all(p.granted for p in privileges)
    return check


def schema_to_proto(
    schema: Schema, exact_counts: Mapping[str, int] | None
) -> connection_pb2.GetConnectionSchemaResponse:
    tables = []
    for name in sorted(schema.tables):
        table = schema.tables[name]
        exact = exact_counts is not None and name in exact_counts
        tables.append(
            connection_pb2.TableSchema(
                table=name,
                columns=[
                    connection_pb2.ColumnSchema(
                        name=c.name,
                        data_type=c.data_type,
                        type_family=str(c.family),
                        nullable=c.nullable,
                        generated=c.generated is not None,
                    )
                    for c in table.columns
                ],
                primary_key=table.primary_key,
                foreign_keys=[
                    connection_pb2.ForeignKeySchema(
                        name=fk.name,
                        columns=fk.columns,
                        ref_table=fk.ref_qualified,
                        ref_columns=fk.ref_columns,
                    )
                    for fk in table.foreign_keys
                ],
                row_count=exact_counts[name] if exact_counts and exact else table.estimated_rows,
                row_count_exact=exact,
            )
        )
    return connection_pb2.GetConnectionSchemaResponse(tables=tables)
