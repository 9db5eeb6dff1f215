"""User-defined transformers: transformer configs saved under a name in an account, which job
mappings use by that name (TransformerConfig.user_defined)."""

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from google.protobuf import json_format
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.errors import AlreadyExistsError, FailedPreconditionError, NotFoundError
from services.common.store import models, paging
from services.common.store.names import check_name
from services.common.store.records import Page
from veilsync.v1 import transformer_pb2

Sessions = Callable[[], AbstractContextManager[Session]]


class UserTransformerStore:
    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    def create(
        self,
        account_id: str,
        name: str,
        description: str,
        config: transformer_pb2.TransformerConfig,
    ) -> transformer_pb2.UserDefinedTransformer:
        """Save a config the caller validated."""
        check_name(name)
        now = datetime.now(UTC)
        row = models.UserTransformer(
            id=str(uuid4()),
            account_id=account_id,
            name=name,
            description=description,
            config_json=_config_json(config),
            create_time=now,
            update_time=now,
        )
        with self._sessions() as session:
            if _find(session, account_id, name) is not None:
                raise AlreadyExistsError(f'transformer "{name}" already exists')
            session.add(row)
            try:
                session.flush()
            except IntegrityError as err:
                raise AlreadyExistsError(f'transformer "{name}" already exists') from err
            return _message(row)

    def get(self, account_id: str, name: str) -> transformer_pb2.UserDefinedTransformer:
        with self._sessions() as session:
            return _message(_row(session, account_id, name))

    def config(self, account_id: str, name: str) -> transformer_pb2.TransformerConfig | None:
        """The saved config of `name`, or None when the account has none by that name."""
        with self._sessions() as session:
            row = _find(session, account_id, name)
            return None if row is None else _config(row)

    def list(
        self, account_id: str, page_size: int = 0, page_token: str = ""
    ) -> Page[transformer_pb2.UserDefinedTransformer]:
        size, after = paging.page_size(page_size), paging.decode_token(page_token)
        query = select(models.UserTransformer).where(
            models.UserTransformer.account_id == account_id
        )
        if after is not None:
            query = query.where(models.UserTransformer.name > after)
        with self._sessions() as session:
            rows = list(
                session.scalars(query.order_by(models.UserTransformer.name).limit(size + 1))
            )
            items = [_message(row) for row in rows]
        if len(items) <= size:
            return Page(items, "")
        return Page(items[:size], paging.encode_token(items[size - 1].name))

    def update(
        self,
        account_id: str,
        name: str,
        description: str,
        config: transformer_pb2.TransformerConfig,
    ) -> transformer_pb2.UserDefinedTransformer:
        with self._sessions() as session:
            row = _row(session, account_id, name)
            row.description = description
            row.config_json = _config_json(config)
            row.update_time = datetime.now(UTC)
            return _message(row)

    def delete(self, account_id: str, name: str) -> None:
        """FailedPreconditionError while a job's mappings name it."""
        with self._sessions() as session:
            row = _row(session, account_id, name)
            # Jobs keep their spec as JSON; an account has few enough jobs to read them all,
            # and reading in the deleting transaction sees every job committed before it.
            users = [
                job_name
                for job_name, spec in session.execute(
                    select(models.Job.name, models.Job.spec_json)
                    .where(models.Job.account_id == account_id)
                    .order_by(models.Job.name)
                )
                if name in used_names(json.loads(spec))
            ]
            if users:
                raise FailedPreconditionError(
                    f'transformer "{name}" is used by job(s) {", ".join(users)}; '
                    "change their mappings first"
                )
            session.delete(row)


def used_names(spec: dict[str, Any]) -> set[str]:
    """Saved transformer names a job spec's (proto3 JSON) mappings use."""
    names = set()
    for mapping in spec.get("mappings", []):
        for config in mapping.get("columns", {}).values():
            if isinstance(config, dict) and config.get("user_defined"):
                names.add(str(config["user_defined"]))
    return names


def _find(session: Session, account_id: str, name: str) -> models.UserTransformer | None:
    return session.scalars(
        select(models.UserTransformer).where(
            models.UserTransformer.account_id == account_id, models.UserTransformer.name == name
        )
    ).one_or_none()


def _row(session: Session, account_id: str, name: str) -> models.UserTransformer:
    row = _find(session, account_id, name)
    if row is None:
        raise NotFoundError(f'transformer "{name}" not found')
    return row


def _config_json(config: transformer_pb2.TransformerConfig) -> str:
    return json_format.MessageToJson(config, preserving_proto_field_name=True, indent=None)


def _config(row: models.UserTransformer) -> transformer_pb2.TransformerConfig:
    return json_format.Parse(
        row.config_json, transformer_pb2.TransformerConfig(), ignore_unknown_fields=True
    )


def _message(row: models.UserTransformer) -> transformer_pb2.UserDefinedTransformer:
    message = transformer_pb2.UserDefinedTransformer(
        id=row.id, name=row.name, description=row.description, config=_config(row)
    )
    message.create_time.FromDatetime(row.create_time)
    message.update_time.FromDatetime(row.update_time)
    return message
