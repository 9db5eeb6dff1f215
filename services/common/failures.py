"""Reading Temporal failure chains: the innermost failure says what actually went wrong."""

import re

from temporalio.exceptions import ApplicationError, FailureError

# The head of a failure message that people see; the rest is named by its length only.
FAILURE_HEAD_CHARS = 2_000
_LEFT_OFF = re.compile(r"… \((\d+) more characters\)$")


def innermost(err: BaseException) -> tuple[str, str]:
    """The innermost failure's message, and its type when it is an application error."""
    cause = err
    while isinstance(cause, FailureError) and cause.cause is not None:
        cause = cause.cause
    kind = (cause.type or "") if isinstance(cause, ApplicationError) else ""
    message = cause.message if isinstance(cause, FailureError) else str(cause)
    return message, kind


def head(text: str, limit: int = FAILURE_HEAD_CHARS) -> str:
    """The text, or its first `limit` characters and how many were left off: a reason is
    read from its start, and a 20,000-character one must not swamp a terminal."""
    if len(text) <= limit:
        return text
    # Cut already (by the worker that raised it): count what that cut left off too.
    cut = _LEFT_OFF.search(text, limit)
    kept, more = (text[: cut.start()], int(cut.group(1))) if cut else (text, 0)
    if len(kept) <= limit:
        return text
    return f"{kept[:limit]}… ({len(kept) - limit + more} more characters)"
