"""The failure converter every process uses: failure messages and stack traces encrypted
like payloads, and every failure cut to fit what the Temporal server keeps of it."""

import temporalio.api.failure.v1
from temporalio.converter import DefaultFailureConverter, PayloadConverter

from services.common.failures import head

# The server's default limit.mutableStateActivityFailureSize.error: a retried activity's
# failure over it is replaced by "Failure exceeds size limit.", and with encoded attributes
# the replacement keeps nothing readable. Leave room under it.
FAILURE_BUDGET_BYTES = 3_500
# What the payload codec adds to each encoded attribute (nonce, tag, key id, metadata).
_CODEC_OVERHEAD_BYTES = 160
_STACK_TAIL_CHARS = 1_000  # a stack trace's last frames say where it was raised
_SHORT_MESSAGE_CHARS = 400
_ENCODED_MESSAGE = "Encoded failure"

Failure = temporalio.api.failure.v1.Failure


class BoundedFailureConverter(DefaultFailureConverter):
    """DefaultFailureConverter with encoded common attributes, whose failures always fit
    FAILURE_BUDGET_BYTES: stack traces go first, then message tails, then the deepest
    causes. Decoding is the default converter's."""

    def __init__(self) -> None:
        super().__init__(encode_common_attributes=True)

    def to_failure(
        self,
        exception: BaseException,
        payload_converter: PayloadConverter,
        failure: Failure,
    ) -> None:
        # The whole chain in clear first, so that it is cut as one before it is encoded.
        DefaultFailureConverter().to_failure(exception, payload_converter, failure)
        _fit(failure, payload_converter)
        for level in _chain(failure):
            _encode_attributes(level, payload_converter)


def _chain(failure: Failure) -> list[Failure]:
    levels = [failure]
    while levels[-1].HasField("cause"):
        levels.append(levels[-1].cause)
    return levels


def _encode_attributes(failure: Failure, payload_converter: PayloadConverter) -> None:
    """As the SDK's converter does with encode_common_attributes, so it decodes them."""
    if failure.HasField("encoded_attributes"):
        return  # a failure passed through from elsewhere, already encoded
    failure.encoded_attributes.CopyFrom(
        payload_converter.to_payloads(
            [{"message": failure.message, "stack_trace": failure.stack_trace}]
        )[0]
    )
    failure.message = _ENCODED_MESSAGE
    failure.stack_trace = ""


def _encoded_size(failure: Failure, payload_converter: PayloadConverter) -> int:
    encoded = Failure()
    encoded.CopyFrom(failure)
    levels = _chain(encoded)
    for level in levels:
        _encode_attributes(level, payload_converter)
    return encoded.ByteSize() + _CODEC_OVERHEAD_BYTES * len(levels)


def _drop_stack_trace(level: Failure) -> None:
    level.ClearField("stack_trace")


def _shorten_message(level: Failure) -> None:
    level.message = head(level.message, _SHORT_MESSAGE_CHARS)


def _fit(failure: Failure, payload_converter: PayloadConverter) -> None:
    for level in _chain(failure):
        level.message = head(level.message)
        if len(level.stack_trace) > _STACK_TAIL_CHARS:
            level.stack_trace = "…" + level.stack_trace[-_STACK_TAIL_CHARS:]
    for step in (_drop_stack_trace, _shorten_message):
        if _encoded_size(failure, payload_converter) <= FAILURE_BUDGET_BYTES:
            return
        for level in _chain(failure):
            step(level)
    while _encoded_size(failure, payload_converter) > FAILURE_BUDGET_BYTES:
        levels = _chain(failure)
        if len(levels) == 1:
            failure.message = head(failure.message, _SHORT_MESSAGE_CHARS // 4)
            return
        levels[-2].ClearField("cause")
