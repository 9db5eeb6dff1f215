"""Open a database by URL."""

from services.common.db_urls import engine_of
from services.engine.connectors.base import Database
from veilsync.v1 import connection_pb2


def open_database(url: str) -> Database:
    engine = engine_of(url)
    if engine == connection_pb2.ENGINE_POSTGRES:
        from services.engine.connectors.postgres.connector import PostgresDatabase

        return PostgresDatabase(url)
    if engine == connection_pb2.ENGINE_SQLITE:
        from services.engine.connectors.sqlite.connector import SqliteDatabase

        return SqliteDatabase(url)
    from services.engine.connectors.mysql.connector import MysqlDatabase

    return MysqlDatabase(url)
