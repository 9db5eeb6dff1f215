"""What the store hands out besides jobs: plain values, secrets never included."""

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ConnectionRecord:
    id: str
    name: str
    engine: int  # a veilsync.v1.Engine value
    redacted_url: str
    create_time: datetime


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str  # empty on the last page


@dataclass(frozen=True)
class ApiKeyRecord:
    id: str
    account_id: str
    name: str
    prefix: str  # the secret's first characters, to tell keys apart
    create_time: datetime
    revoke_time: datetime | None
