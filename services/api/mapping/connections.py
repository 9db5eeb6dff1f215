"""Connections and connection checks as API messages."""

from services.common.logging import scrub
from services.common.store.records import ConnectionRecord
from services.sync_worker.engine.check import ConnectionCheck
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
