"""Calls of ConnectionService."""

from veilsync.v1 import connection_pb2
from veilsync_sdk.calls.base import (
    PAGE_SIZE,
    Call,
    ConnectionLike,
    ConnectionRole,
    Paged,
    connection_ref,
    page_of,
)


def create_connection(name: str, url: str) -> Call[connection_pb2.Connection]:
    return Call(
        lambda s: s.connections.CreateConnection,
        connection_pb2.CreateConnectionRequest(name=name, url=url),
        lambda r: r.connection,
    )


def get_connection(connection: ConnectionLike) -> Call[connection_pb2.Connection]:
    return Call(
        lambda s: s.connections.GetConnection,
        connection_pb2.GetConnectionRequest(connection=connection_ref(connection)),
        lambda r: r.connection,
    )


def list_connections() -> Paged[connection_pb2.Connection]:
    return page_of(
        lambda s: s.connections.ListConnections,
        lambda token: connection_pb2.ListConnectionsRequest(page_size=PAGE_SIZE, page_token=token),
        lambda r: r.connections,
    )


def update_connection(connection: ConnectionLike, url: str) -> Call[connection_pb2.Connection]:
    return Call(
        lambda s: s.connections.UpdateConnection,
        connection_pb2.UpdateConnectionRequest(connection=connection_ref(connection), url=url),
        lambda r: r.connection,
    )


def delete_connection(connection: ConnectionLike) -> Call[None]:
    return Call(
        lambda s: s.connections.DeleteConnection,
        connection_pb2.DeleteConnectionRequest(connection=connection_ref(connection)),
        lambda r: None,
    )


def check_connection(
    connection: ConnectionLike | None = None,
    *,
    url: str | None = None,
    role: ConnectionRole = connection_pb2.CONNECTION_ROLE_UNSPECIFIED,
) -> Call[connection_pb2.CheckConnectionResponse]:
    if url is not None and connection is None:
        request = connection_pb2.CheckConnectionRequest(url=url, role=role)
    elif connection is not None and url is None:
        request = connection_pb2.CheckConnectionRequest(
            connection=connection_ref(connection), role=role
        )
    else:
        raise ValueError("check a stored connection or a url, one of the two")
    return Call(lambda s: s.connections.CheckConnection, request, lambda r: r)


def connection_schema(
    connection: ConnectionLike, exact_row_counts: bool = False
) -> Call[list[connection_pb2.TableSchema]]:
    return Call(
        lambda s: s.connections.GetConnectionSchema,
        connection_pb2.GetConnectionSchemaRequest(
            connection=connection_ref(connection), exact_row_counts=exact_row_counts
        ),
        lambda r: list(r.tables),
        long=True,
    )
