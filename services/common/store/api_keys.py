"""API keys of accounts, stored as SHA-256 hashes of their secrets.

A key's secret is 32 random bytes: hashing it once is enough (nothing to brute-force, unlike a
password), and the hash is what the unique index finds, so a lookup costs one query."""

import hashlib
import hmac
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from uuid import uuid4

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.errors import AlreadyExistsError, NotFoundError
from services.common.store import models
from services.common.store.names import check_name
from services.common.store.records import ApiKeyRecord

SECRET_PREFIX = "vsk_"
_PREFIX_CHARS = 12

Sessions = Callable[[], AbstractContextManager[Session]]


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class ApiKeyStore:
    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    def create(self, account_id: str, name: str) -> tuple[ApiKeyRecord, str]:
        """A new key and its secret, which is not kept and cannot be shown again."""
        check_name(name)
        secret = new_secret()
        row = models.ApiKey(
            id=str(uuid4()),
            account_id=account_id,
            name=name,
            prefix=secret[:_PREFIX_CHARS],
            secret_sha256=digest(secret),
            create_time=datetime.now(UTC),
        )
        with self._sessions() as session:
            if session.get(models.Account, account_id) is None:
                raise NotFoundError(f'account "{account_id}" not found')
            session.add(row)
            try:
                session.flush()
            except IntegrityError as err:
                raise AlreadyExistsError(f'API key "{name}" already exists') from err
            return _record(row), secret

    def list(self, account_id: str) -> list[ApiKeyRecord]:
        with self._sessions() as session:
            rows = session.scalars(
                select(models.ApiKey)
                .where(models.ApiKey.account_id == account_id)
                .order_by(models.ApiKey.name)
            )
            return [_record(row) for row in rows]

    def revoke(self, account_id: str, key_id: str) -> ApiKeyRecord:
        with self._sessions() as session:
            row = session.scalars(
                select(models.ApiKey).where(
                    models.ApiKey.account_id == account_id, models.ApiKey.id == key_id
                )
            ).one_or_none()
            if row is None:
                raise NotFoundError(f'API key "{key_id}" not found')
            if row.revoke_time is None:
                row.revoke_time = datetime.now(UTC)
            return _record(row)

    def authenticate(self, secret: str) -> str | None:
        """The account of a valid, unrevoked key; None otherwise."""
        wanted = digest(secret)
        with self._sessions() as session:
            row = session.scalars(
                select(models.ApiKey).where(models.ApiKey.secret_sha256 == wanted)
            ).one_or_none()
            # The index found the row by hash; compare again in constant time so that no
            # timing difference tells an attacker how much of a hash matched.
            if row is None or not hmac.compare_digest(row.secret_sha256, wanted):
                return None
            return None if row.revoke_time is not None else row.account_id

    def any_valid(self) -> bool:
        with self._sessions() as session:
            count = session.scalar(
                select(func.count())
                .select_from(models.ApiKey)
                .where(models.ApiKey.revoke_time.is_(None))
            )
            return bool(count)


def _record(row: models.ApiKey) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row.id,
        account_id=row.account_id,
        name=row.name,
        prefix=row.prefix,
        create_time=row.create_time,
        revoke_time=row.revoke_time,
    )
