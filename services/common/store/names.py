"""The rule every user-chosen name (connections, jobs) follows."""

import re

from services.common.errors import InvalidArgumentError

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


def check_name(name: str, field: str = "name") -> str:
    if not name:
        raise InvalidArgumentError(field, "is required")
    if not _NAME.fullmatch(name):
        raise InvalidArgumentError(
            field,
            "use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit, "
            "at most 63 characters",
        )
    return name
