"""Which account a request acts for: set by the authentication interceptor, read by servicers."""

from contextvars import ContextVar
from typing import Any

import grpc

# Per request: grpc.aio runs each call in its own task, which copies the context.
_ACCOUNT: ContextVar[str | None] = ContextVar("veilsync_account", default=None)


def set_account(account_id: str) -> None:
    _ACCOUNT.set(account_id)


def account_of(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    """The caller's account. Every servicer method runs behind the authentication
    interceptor, so an unset account is a wiring bug, not a caller's mistake."""
    del context
    account = _ACCOUNT.get()
    if account is None:
        raise RuntimeError("no authenticated account: is the AuthInterceptor installed?")
    return account


def current_account() -> str | None:
    """The account of the request being served, None before (or without) authentication:
    for the request log, which must not fail a call that never authenticated."""
    return _ACCOUNT.get()
