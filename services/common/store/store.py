"""MetadataStore: every read and write of the metadata database, scoped to an account.

Synchronous on purpose: the API calls it through asyncio.to_thread and the sync worker's
activities call it directly. Secrets go in encrypted and come out only through
connection_url and transform_key."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

from alembic import command
from alembic.config import Config
from google.protobuf import json_format
from sqlalchemy import Engine, create_engine, delete, event, make_url, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.common import db_urls
from services.common.contract import DEFAULT_ACCOUNT_ID
from services.common.errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
)
from services.common.secrets import SecretCipher
from services.common.store import models, paging
from services.common.store.api_keys import ApiKeyStore
from services.common.store.names import check_name
from services.common.store.records import ConnectionRecord, Page
from services.common.store.user_transformers import UserTransformerStore
from veilsync.v1 import job_pb2, transformer_pb2

T = TypeVar("T")

_MIGRATIONS = Path(__file__).parent / "migrations"


class MetadataStore:
    def __init__(self, database_url: str, cipher: SecretCipher) -> None:
        self._engine = _create_engine(database_url)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        self._cipher = cipher
        self.api_keys = ApiKeyStore(self._session)
        self.user_transformers = UserTransformerStore(self._session)

    def close(self) -> None:
        self._engine.dispose()

    def migrate(self) -> None:
        """Bring the schema to the newest revision and make sure the default account exists."""
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with self._engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        with self._session() as session:
            if session.get(models.Account, DEFAULT_ACCOUNT_ID) is None:
                session.add(models.Account(id=DEFAULT_ACCOUNT_ID, create_time=_now()))

    def create_account(self, account_id: str) -> None:
        """An operator's step (and tests'): accounts are not created through the API."""
        check_name(account_id, "account_id")
        with self._session() as session:
            if session.get(models.Account, account_id) is not None:
                raise AlreadyExistsError(f'account "{account_id}" already exists')
            session.add(models.Account(id=account_id, create_time=_now()))

    # Connections

    def create_connection(self, account_id: str, name: str, url: str) -> ConnectionRecord:
        check_name(name)
        if not url:
            raise InvalidArgumentError("url", "is required")
        engine = db_urls.engine_of(url)
        row = models.Connection(
            id=str(uuid4()),
            account_id=account_id,
            name=name,
            engine=int(engine),
            url_ciphertext=self._cipher.encrypt(url),
            create_time=_now(),
        )
        with self._session() as session:
            if _find_connection(session, account_id, name=name) is not None:
                raise AlreadyExistsError(f'connection "{name}" already exists')
            session.add(row)
            _flush_unique(session, f'connection "{name}" already exists')
            return self._connection_record(row)

    def get_connection(
        self, account_id: str, *, connection_id: str | None = None, name: str | None = None
    ) -> ConnectionRecord:
        with self._session() as session:
            row = _connection_row(session, account_id, connection_id=connection_id, name=name)
            return self._connection_record(row)

    def list_connections(
        self, account_id: str, page_size: int = 0, page_token: str = ""
    ) -> Page[ConnectionRecord]:
        size, after = paging.page_size(page_size), paging.decode_token(page_token)
        query = select(models.Connection).where(models.Connection.account_id == account_id)
        if after is not None:
            query = query.where(models.Connection.name > after)
        with self._session() as session:
            rows = list(session.scalars(query.order_by(models.Connection.name).limit(size + 1)))
        return _page([self._connection_record(row) for row in rows], size, lambda c: c.name)

    def delete_connection(
        self, account_id: str, *, connection_id: str | None = None, name: str | None = None
    ) -> None:
        with self._session() as session:
            row = _connection_row(session, account_id, connection_id=connection_id, name=name)
            users = list(
                session.scalars(
                    select(models.Job.name)
                    .join(models.JobConnection, models.JobConnection.job_id == models.Job.id)
                    .where(models.JobConnection.connection_id == row.id)
                    .order_by(models.Job.name)
                )
            )
            if users:
                raise FailedPreconditionError(
                    f'connection "{row.name}" is used by job(s) {", ".join(users)}; '
                    "delete them first"
                )
            session.delete(row)

    def update_connection(
        self,
        account_id: str,
        url: str,
        *,
        connection_id: str | None = None,
        name: str | None = None,
    ) -> ConnectionRecord:
        engine = db_urls.engine_of(url)
        with self._session() as session:
            row = _connection_row(session, account_id, connection_id=connection_id, name=name)
            if int(engine) != row.engine:
                # Jobs were validated against this engine's schema and types.
                raise FailedPreconditionError(
                    f'connection "{row.name}" cannot change its engine; create a new one'
                )
            row.url_ciphertext = self._cipher.encrypt(url)
            return self._connection_record(row)

    def connection_url(
        self, account_id: str, connection_id: str | None = None, *, name: str | None = None
    ) -> str:
        """The decrypted URL of a connection named by id or by name."""
        with self._session() as session:
            row = _connection_row(session, account_id, connection_id=connection_id, name=name)
            return self._cipher.decrypt(row.url_ciphertext)

    def connection_id_by_name(self, account_id: str, name: str) -> str:
        with self._session() as session:
            return _connection_row(session, account_id, name=name).id

    def saved_transformer(
        self, account_id: str, name: str
    ) -> transformer_pb2.TransformerConfig | None:
        """A user-defined transformer's config by name (the sync worker resolves mappings
        with it when a run plans)."""
        return self.user_transformers.config(account_id, name)

    # Jobs

    def create_job(
        self,
        account_id: str,
        job: job_pb2.Job,
        transform_key: str,
        *,
        key_salt: bytes | None = None,
        key_kdf: str | None = None,
        hook_secret: str = "",
        schema_snapshot: str | None = None,
    ) -> job_pb2.Job:
        """Store a job whose connections exist; the caller validated it against its source.
        `transform_key` is the key its transformers derive from, kept encrypted; `key_salt`
        and `key_kdf` say how it was stretched from a passphrase (transform_keys.py)."""
        check_name(job.name, "job.name")
        now = _now()
        row = models.Job(
            id=str(uuid4()),
            account_id=account_id,
            name=job.name,
            spec_json=_spec_json(job),
            transform_key_ciphertext=self._cipher.encrypt(transform_key),
            transform_key_salt=key_salt,
            transform_key_kdf=key_kdf,
            create_time=now,
            update_time=now,
            paused=False,
            schema_snapshot=schema_snapshot,
            hook_secret_ciphertext=self._cipher.encrypt(hook_secret) if hook_secret else None,
        )
        # A generate job may name no source.
        names = [n for n in (job.source.connection, *(d.connection for d in job.destinations)) if n]
        with self._session() as session:
            connection_ids = {_connection_row(session, account_id, name=name).id for name in names}
            if _find_job(session, account_id, name=job.name) is not None:
                raise AlreadyExistsError(f'job "{job.name}" already exists')
            session.add(row)
            _flush_unique(session, f'job "{job.name}" already exists')
            session.add_all(
                models.JobConnection(job_id=row.id, connection_id=connection_id)
                for connection_id in sorted(connection_ids)
            )
            return _job_message(row)

    def get_job(
        self, account_id: str, *, job_id: str | None = None, name: str | None = None
    ) -> job_pb2.Job:
        with self._session() as session:
            return _job_message(_job_row(session, account_id, job_id=job_id, name=name))

    def list_jobs(
        self, account_id: str, page_size: int = 0, page_token: str = ""
    ) -> Page[job_pb2.Job]:
        size, after = paging.page_size(page_size), paging.decode_token(page_token)
        query = select(models.Job).where(models.Job.account_id == account_id)
        if after is not None:
            query = query.where(models.Job.name > after)
        with self._session() as session:
            rows = list(session.scalars(query.order_by(models.Job.name).limit(size + 1)))
        return _page([_job_message(row) for row in rows], size, lambda j: j.name)

    def delete_job(
        self, account_id: str, *, job_id: str | None = None, name: str | None = None
    ) -> None:
        """Delete a job with its run records; the caller checked that no run is in flight."""
        with self._session() as session:
            row = _job_row(session, account_id, job_id=job_id, name=name)
            # Explicit rather than ON DELETE CASCADE, which SQLite honours only when asked to.
            session.execute(
                delete(models.JobConnection).where(models.JobConnection.job_id == row.id)
            )
            session.delete(row)

    def update_job(
        self,
        account_id: str,
        job: job_pb2.Job,
        *,
        hook_secret: str = "",
        schema_snapshot: str | None = None,
    ) -> job_pb2.Job:
        """Replace the spec of the job `job.id`; its name, key and times stay."""
        # A generate job may name no source.
        names = [n for n in (job.source.connection, *(d.connection for d in job.destinations)) if n]
        with self._session() as session:
            row = _job_row(session, account_id, job_id=job.id)
            connection_ids = {_connection_row(session, account_id, name=name).id for name in names}
            row.spec_json = _spec_json(job)
            row.update_time = _now()
            if schema_snapshot is not None:
                row.schema_snapshot = schema_snapshot
            if hook_secret:
                row.hook_secret_ciphertext = self._cipher.encrypt(hook_secret)
            session.execute(
                delete(models.JobConnection).where(models.JobConnection.job_id == row.id)
            )
            session.add_all(
                models.JobConnection(job_id=row.id, connection_id=connection_id)
                for connection_id in sorted(connection_ids)
            )
            return _job_message(row)

    def set_paused(self, account_id: str, job_id: str, paused: bool) -> job_pb2.Job:
        with self._session() as session:
            row = _job_row(session, account_id, job_id=job_id)
            row.paused = paused
            return _job_message(row)

    def schema_snapshot(self, account_id: str, job_id: str) -> str | None:
        with self._session() as session:
            return _job_row(session, account_id, job_id=job_id).schema_snapshot

    def has_hook_secret(self, account_id: str, job_id: str) -> bool:
        with self._session() as session:
            return _job_row(session, account_id, job_id=job_id).hook_secret_ciphertext is not None

    def hook_secret(self, account_id: str, job_id: str) -> bytes:
        with self._session() as session:
            row = _job_row(session, account_id, job_id=job_id)
            if row.hook_secret_ciphertext is None:
                raise FailedPreconditionError(f'job "{row.name}" has no hook secret')
            return self._cipher.decrypt(row.hook_secret_ciphertext).encode()

    def transform_key(self, account_id: str, job_id: str) -> bytes:
        """The key the job's transformers derive from, ready to use: a passphrase was stretched
        when the job was created, so runs never pay for the KDF."""
        with self._session() as session:
            row = _job_row(session, account_id, job_id=job_id)
            return self._cipher.decrypt(row.transform_key_ciphertext).encode()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def _connection_record(self, row: models.Connection) -> ConnectionRecord:
        return ConnectionRecord(
            id=row.id,
            name=row.name,
            engine=row.engine,
            redacted_url=db_urls.redact(self._cipher.decrypt(row.url_ciphertext)),
            create_time=row.create_time,
        )


def _create_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres"):
        # SQLAlchemy's default PostgreSQL driver is psycopg2; Veilsync ships psycopg 3.
        url = url.set(drivername="postgresql+psycopg")
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        # SQLite ignores foreign keys unless each connection turns them on.
        @event.listens_for(engine, "connect")
        def _foreign_keys_on(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


def _connection_row(
    session: Session, account_id: str, *, connection_id: str | None = None, name: str | None = None
) -> models.Connection:
    row = _find_connection(session, account_id, connection_id=connection_id, name=name)
    if row is None:
        raise NotFoundError(f'connection "{connection_id or name}" not found')
    return row


def _find_connection(
    session: Session, account_id: str, *, connection_id: str | None = None, name: str | None = None
) -> models.Connection | None:
    query = select(models.Connection).where(models.Connection.account_id == account_id)
    if connection_id is not None:
        query = query.where(models.Connection.id == connection_id)
    elif name is not None:
        query = query.where(models.Connection.name == name)
    else:
        raise InvalidArgumentError("connection", "set the connection's id or name")
    return session.scalars(query).one_or_none()


def _job_row(
    session: Session, account_id: str, *, job_id: str | None = None, name: str | None = None
) -> models.Job:
    row = _find_job(session, account_id, job_id=job_id, name=name)
    if row is None:
        raise NotFoundError(f'job "{job_id or name}" not found')
    return row


def _find_job(
    session: Session, account_id: str, *, job_id: str | None = None, name: str | None = None
) -> models.Job | None:
    query = select(models.Job).where(models.Job.account_id == account_id)
    if job_id is not None:
        query = query.where(models.Job.id == job_id)
    elif name is not None:
        query = query.where(models.Job.name == name)
    else:
        raise InvalidArgumentError("job", "set the job's id or name")
    return session.scalars(query).one_or_none()


def _flush_unique(session: Session, message: str) -> None:
    """Flush, reporting a unique-key race lost to a concurrent writer as AlreadyExistsError."""
    try:
        session.flush()
    except IntegrityError as err:
        raise AlreadyExistsError(message) from err


def _spec_json(job: job_pb2.Job) -> str:
    spec = job_pb2.Job()
    spec.CopyFrom(job)
    for field in ("id", "name", "create_time", "update_time", "paused"):
        spec.ClearField(field)
    return json_format.MessageToJson(spec, preserving_proto_field_name=True, indent=None)


def _job_message(row: models.Job) -> job_pb2.Job:
    # Unknown fields are ignored so that a store written by a newer version still reads.
    job = json_format.Parse(row.spec_json, job_pb2.Job(), ignore_unknown_fields=True)
    job.id, job.name, job.paused = row.id, row.name, bool(row.paused)
    job.create_time.FromDatetime(row.create_time)
    job.update_time.FromDatetime(row.update_time)
    return job


def _page(items: list[T], size: int, name_of: Callable[[T], str]) -> Page[T]:
    """The first `size` items; one more was fetched to learn whether another page exists."""
    if len(items) <= size:
        return Page(items, "")
    kept = items[:size]
    return Page(kept, paging.encode_token(name_of(kept[-1])))


def _now() -> datetime:
    return datetime.now(UTC)
