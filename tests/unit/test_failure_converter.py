"""Failures are cut to fit what the Temporal server keeps, and read back decoded."""

import asyncio

from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from services.common.codec import new_key, parse_key
from services.common.failures import head
from services.common.temporal import data_converter

# limit.mutableStateActivityFailureSize.error's default: over it, the server keeps no reason.
SERVER_LIMIT_BYTES = 4 * 1024


def _raised(message: str, cause_message: str) -> ApplicationError:
    try:
        try:
            raise ValueError(cause_message)
        except ValueError as err:
            raise ApplicationError(message) from err
    except ApplicationError as err:
        return err


def test_a_long_failure_chain_fits_the_server_limit_and_keeps_its_heads() -> None:
    converter = data_converter(parse_key(new_key()))
    failure = Failure()
    asyncio.run(converter.encode_failure(_raised("a" * 30_000, "b" * 30_000), failure))
    assert failure.ByteSize() <= SERVER_LIMIT_BYTES
    assert failure.message == "Encoded failure"  # the text travels encrypted

    decoded = asyncio.run(converter.decode_failure(failure))
    assert isinstance(decoded, ApplicationError)
    assert decoded.message.startswith("a" * 100)
    kept = decoded.message.split("…")[0]
    assert decoded.message == f"{kept}… ({30_000 - len(kept)} more characters)"
    assert decoded.cause is not None and decoded.cause.message.startswith("b" * 100)


def test_a_short_failure_is_kept_whole() -> None:
    converter = data_converter(parse_key(new_key()))
    failure = Failure()
    asyncio.run(converter.encode_failure(_raised("disk full", "errno 28"), failure))
    decoded = asyncio.run(converter.decode_failure(failure))
    assert decoded.message == "disk full"
    assert decoded.cause is not None and decoded.cause.message == "errno 28"


def test_head_keeps_the_start_and_counts_the_rest_once() -> None:
    assert head("short") == "short"
    cut = head("x" * 5_000)
    assert cut == "x" * 2_000 + "… (3000 more characters)"
    assert head(cut) == cut
    assert head(cut, 10) == "x" * 10 + "… (4990 more characters)"
