"""Reading Temporal failure chains: the innermost failure says what actually went wrong."""

from temporalio.exceptions import ApplicationError, FailureError


def innermost(err: BaseException) -> tuple[str, str]:
    """The innermost failure's message, and its type when it is an application error."""
    cause = err
    while isinstance(cause, FailureError) and cause.cause is not None:
        cause = cause.cause
    kind = (cause.type or "") if isinstance(cause, ApplicationError) else ""
    message = cause.message if isinstance(cause, FailureError) else str(cause)
    return message, kind
