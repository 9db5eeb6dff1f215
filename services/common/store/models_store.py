"""ModelStore: the metadata of synthetic-data models, scoped to an account. Artifacts live in
the model store's files (services.common.model_files), keyed by model id.

Synchronous like MetadataStore, which migrates the schema both share."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Literal
from uuid import uuid4

from google.protobuf import json_format
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.common.errors import AlreadyExistsError, NotFoundError
from services.common.store import models, paging
from services.common.store.names import check_name
from services.common.store.records import Page
from services.common.store.store import _create_engine
from veilsync.v1 import model_pb2

_COLUMNS: tuple[Literal["id", "name", "status", "create_time", "update_time"], ...] = (
    "id",
    "name",
    "status",
    "create_time",
    "update_time",
)


class ModelStore:
    def __init__(self, database_url: str) -> None:
        self._engine = _create_engine(database_url)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)

    def close(self) -> None:
        self._engine.dispose()

    def create(self, account_id: str, model: model_pb2.Model) -> model_pb2.Model:
        """Store a new model; its id is assigned here unless set."""
        check_name(model.name)
        now = datetime.now(UTC)
        row = models.Model(
            id=model.id or str(uuid4()),
            account_id=account_id,
            name=model.name,
            status=int(model.status),
            spec_json=_spec_json(model),
            quality_json=None,
            create_time=now,
            update_time=now,
        )
        with self._session() as session:
            if self._find(session, account_id, name=model.name) is not None:
                raise AlreadyExistsError(f'model "{model.name}" already exists')
            session.add(row)
            try:
                session.flush()
            except IntegrityError as err:
                raise AlreadyExistsError(f'model "{model.name}" already exists') from err
            return _message(row)

    def get(self, account_id: str, model_id: str) -> model_pb2.Model:
        with self._session() as session:
            return _message(self._row(session, account_id, model_id))

    def find(self, account_id: str, id_or_name: str) -> model_pb2.Model | None:
        """The model with this id, else with this name; None when there is neither."""
        with self._session() as session:
            row = self._find(session, account_id, model_id=id_or_name) or self._find(
                session, account_id, name=id_or_name
            )
            return _message(row) if row is not None else None

    def exists(self, account_id: str, name: str) -> bool:
        with self._session() as session:
            return self._find(session, account_id, name=name) is not None

    def list(
        self, account_id: str, page_size: int = 0, page_token: str = ""
    ) -> Page[model_pb2.Model]:
        size, after = paging.page_size(page_size), paging.decode_token(page_token)
        query = select(models.Model).where(models.Model.account_id == account_id)
        if after is not None:
            query = query.where(models.Model.name > after)
        with self._session() as session:
            rows = list(session.scalars(query.order_by(models.Model.name).limit(size + 1)))
        items = [_message(row) for row in rows]
        if len(items) <= size:
            return Page(items, "")
        return Page(items[:size], paging.encode_token(items[size - 1].name))

    def update(
        self, account_id: str, model: model_pb2.Model, quality: model_pb2.ModelQuality | None = None
    ) -> model_pb2.Model:
        """Replace the model's mutable fields (status, progress, columns, error, ...)."""
        with self._session() as session:
            row = self._row(session, account_id, model.id)
            row.status = int(model.status)
            row.spec_json = _spec_json(model)
            if quality is not None:
                row.quality_json = json_format.MessageToJson(quality, indent=None)
            row.update_time = datetime.now(UTC)
            return _message(row)

    def quality(self, account_id: str, model_id: str) -> model_pb2.ModelQuality | None:
        with self._session() as session:
            row = self._row(session, account_id, model_id)
            if row.quality_json is None:
                return None
            return json_format.Parse(
                row.quality_json, model_pb2.ModelQuality(), ignore_unknown_fields=True
            )

    def delete(self, account_id: str, model_id: str) -> None:
        with self._session() as session:
            session.delete(self._row(session, account_id, model_id))

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def _row(self, session: Session, account_id: str, model_id: str) -> models.Model:
        row = self._find(session, account_id, model_id=model_id)
        if row is None:
            raise NotFoundError(f'model "{model_id}" not found')
        return row

    def _find(
        self,
        session: Session,
        account_id: str,
        *,
        model_id: str | None = None,
        name: str | None = None,
    ) -> models.Model | None:
        query = select(models.Model).where(models.Model.account_id == account_id)
        if model_id is not None:
            query = query.where(models.Model.id == model_id)
        else:
            query = query.where(models.Model.name == name)
        return session.scalars(query).one_or_none()


def _spec_json(model: model_pb2.Model) -> str:
    spec = model_pb2.Model()
    spec.CopyFrom(model)
    for field in _COLUMNS:
        spec.ClearField(field)
    return json_format.MessageToJson(spec, preserving_proto_field_name=True, indent=None)


def _message(row: models.Model) -> model_pb2.Model:
    model = json_format.Parse(row.spec_json, model_pb2.Model(), ignore_unknown_fields=True)
    model.id, model.name = row.id, row.name
    model.status = row.status  # type: ignore[assignment]
    model.create_time.FromDatetime(row.create_time)
    model.update_time.FromDatetime(row.update_time)
    return model
