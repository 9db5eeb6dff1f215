"""Alembic environment. MetadataStore.migrate passes its open connection in
config.attributes["connection"]; nothing here reads an alembic.ini."""

from alembic import context
from sqlalchemy import Connection

from services.common.store.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite alters tables by copying them; batch mode makes later migrations portable.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through MetadataStore.migrate(), which passes a connection")
_run(connection)
