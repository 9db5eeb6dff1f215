"""Page sizes and opaque page tokens for name-ordered listings."""

import base64
import binascii
import json

from services.common.errors import InvalidArgumentError

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def page_size(requested: int) -> int:
    if requested == 0:
        return DEFAULT_PAGE_SIZE
    if not 1 <= requested <= MAX_PAGE_SIZE:
        raise InvalidArgumentError("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
    return requested


def encode_token(after_name: str) -> str:
    payload = json.dumps({"after": after_name}).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_token(token: str) -> str | None:
    """The name the page starts after; None for the first page."""
    if not token:
        return None
    try:
        payload = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        after = json.loads(payload)["after"]
    except (binascii.Error, ValueError, KeyError, TypeError) as err:
        raise InvalidArgumentError("page_token", "not a token this API returned") from err
    if not isinstance(after, str):
        raise InvalidArgumentError("page_token", "not a token this API returned")
    return after
