"""ConnectionService."""

import asyncio
from typing import Any

import grpc

from services.api import validation
from services.api.accounts import account_of
from services.api.connection_probe import describe, probe
from services.api.mapping.connections import (
    check_to_proto,
    connection_to_proto,
    privileges_to_proto,
    schema_to_proto,
)
from services.common.errors import InvalidArgumentError
from services.common.store.store import MetadataStore
from services.engine.inspect.privileges import Role
from veilsync.v1 import connection_pb2 as pb
from veilsync.v1 import connection_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]

_ROLES = {pb.CONNECTION_ROLE_SOURCE: Role.SOURCE, pb.CONNECTION_ROLE_DESTINATION: Role.DESTINATION}


class ConnectionServicer(connection_pb2_grpc.ConnectionServiceServicer):
    def __init__(self, store: MetadataStore, allow_local_url_options: bool) -> None:
        self._store = store
        self._allow_local = allow_local_url_options

    async def CreateConnection(
        self, request: pb.CreateConnectionRequest, context: Context
    ) -> pb.CreateConnectionResponse:
        validation.check_create_connection(request, self._allow_local)
        record = await asyncio.to_thread(
            self._store.create_connection, account_of(context), request.name, request.url
        )
        return pb.CreateConnectionResponse(connection=connection_to_proto(record))

    async def GetConnection(
        self, request: pb.GetConnectionRequest, context: Context
    ) -> pb.GetConnectionResponse:
        connection_id, name = validation.connection_ref(request.connection)
        record = await asyncio.to_thread(
            self._store.get_connection,
            account_of(context),
            connection_id=connection_id,
            name=name,
        )
        return pb.GetConnectionResponse(connection=connection_to_proto(record))

    async def ListConnections(
        self, request: pb.ListConnectionsRequest, context: Context
    ) -> pb.ListConnectionsResponse:
        page = await asyncio.to_thread(
            self._store.list_connections,
            account_of(context),
            request.page_size,
            request.page_token,
        )
        return pb.ListConnectionsResponse(
            connections=[connection_to_proto(record) for record in page.items],
            next_page_token=page.next_page_token,
        )

    async def DeleteConnection(
        self, request: pb.DeleteConnectionRequest, context: Context
    ) -> pb.DeleteConnectionResponse:
        connection_id, name = validation.connection_ref(request.connection)
        await asyncio.to_thread(
            self._store.delete_connection,
            account_of(context),
            connection_id=connection_id,
            name=name,
        )
        return pb.DeleteConnectionResponse()

    async def CheckConnection(
        self, request: pb.CheckConnectionRequest, context: Context
    ) -> pb.CheckConnectionResponse:
        validation.check_enum(request.role, pb.ConnectionRole.values(), "role")
        role = _ROLES.get(request.role)
        target = request.WhichOneof("target")
        if target == "url":
            url = validation.check_url(request.url, self._allow_local)
        elif target == "connection":
            connection_id, name = validation.connection_ref(request.connection)
            url = await asyncio.to_thread(
                self._store.connection_url, account_of(context), connection_id, name=name
            )
        else:
            raise InvalidArgumentError("target", "set a connection or a url")
        check, privileges = await asyncio.to_thread(probe, url, role)
        return privileges_to_proto(check_to_proto(check), privileges)

    async def UpdateConnection(
        self, request: pb.UpdateConnectionRequest, context: Context
    ) -> pb.UpdateConnectionResponse:
        validation.check_update_connection(request, self._allow_local)
        connection_id, name = validation.connection_ref(request.connection)
        record = await asyncio.to_thread(
            self._store.update_connection,
            account_of(context),
            request.url,
            connection_id=connection_id,
            name=name,
        )
        return pb.UpdateConnectionResponse(connection=connection_to_proto(record))

    async def GetConnectionSchema(
        self, request: pb.GetConnectionSchemaRequest, context: Context
    ) -> pb.GetConnectionSchemaResponse:
        connection_id, name = validation.connection_ref(request.connection)
        url = await asyncio.to_thread(
            self._store.connection_url, account_of(context), connection_id, name=name
        )
        schema, counts = await asyncio.to_thread(describe, url, request.exact_row_counts)
        return schema_to_proto(schema, counts)
