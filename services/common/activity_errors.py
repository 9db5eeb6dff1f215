"""The one translation of domain errors into Temporal failures, for every worker's activities:
an unreachable database is retried, every other deliberate error fails at once."""

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from temporalio.exceptions import ApplicationError

from services.common.errors import DatabaseUnavailableError, VeilsyncError

P = ParamSpec("P")
R = TypeVar("R")


def domain_errors(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except DatabaseUnavailableError as err:
            raise ApplicationError(str(err), type=type(err).__name__) from err
        except VeilsyncError as err:
            raise ApplicationError(str(err), type=type(err).__name__, non_retryable=True) from err

    return wrapper
