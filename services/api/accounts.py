"""Which account a request acts for."""

from typing import Any

import grpc

from services.common.contract import DEFAULT_ACCOUNT_ID


def account_of(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    """Every request acts for the default account until API keys land; then this reads the
    caller's key from the context, and nothing else changes."""
    del context
    return DEFAULT_ACCOUNT_ID
