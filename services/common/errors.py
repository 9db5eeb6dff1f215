"""Domain errors. Each boundary translates them once: to gRPC status codes in the API, to
non-retryable ApplicationErrors in activities."""


class VeilsyncError(Exception):
    """Base of every error Veilsync raises on purpose."""


class InvalidArgumentError(VeilsyncError):
    """The caller sent something malformed; `field` names the offending request field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.description = message


class NotFoundError(VeilsyncError):
    """The named object does not exist in the caller's account."""


class AlreadyExistsError(VeilsyncError):
    """An object with that name already exists in the caller's account."""


class FailedPreconditionError(VeilsyncError):
    """The request is well formed but the system is not in a state that allows it."""


class DatabaseUnavailableError(VeilsyncError):
    """A source or destination database could not be reached; worth retrying."""


class DataRejectedError(VeilsyncError):
    """A database refused the rows or a statement (a constraint, a type, a definition it cannot
    take); retrying cannot help."""
