"""What a test does when a server it needs (PostgreSQL, MariaDB, Temporal) is missing."""

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> NoReturn:
    """Under CI a failure: a run that skipped an engine must not pass. Elsewhere a skip,
    shown with its reason in the summary."""
    if in_ci():
        pytest.fail(f"{reason}; CI=true, so a missing server fails the run", pytrace=False)
    pytest.skip(reason)
