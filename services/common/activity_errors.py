"""The one translation of domain errors into Temporal failures, for every worker's activities:
an unreachable database is retried, every other deliberate error fails at once."""

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from temporalio.exceptions import ApplicationError

from services.common.driver_errors import scrub_driver_error
from services.common.errors import DatabaseUnavailableError, VeilsyncError

P = ParamSpec("P")
R = TypeVar("R")


def domain_errors(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except DatabaseUnavailableError as err:
            raise _failure(err, non_retryable=False) from None
        except VeilsyncError as err:
            raise _failure(err, non_retryable=True) from None

    return wrapper


def _failure(err: VeilsyncError, non_retryable: bool) -> ApplicationError:
    """The failure Temporal records, with the error's own traceback but not its causes: the
    SDK writes a cause chain into history and the worker's log, and a driver error there
    quotes the row it refused (DETAIL: Key (email)=(...))."""
    failure = ApplicationError(
        scrub_driver_error(str(err)), type=type(err).__name__, non_retryable=non_retryable
    )
    return failure.with_traceback(err.__traceback__)
