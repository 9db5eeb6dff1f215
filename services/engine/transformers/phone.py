"""Phone numbers: E.164, digit strings and integers, generated or replaced digit by digit."""

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from services.common.errors import InvalidArgumentError
from services.engine.schema import Column, TypeFamily
from services.engine.transformers.base import Transformer, option_error
from services.engine.transformers.chars import scramble
from services.engine.transformers.numbers import column_range, parse, text
from services.engine.transformers.prf import U64, below, derive, random_chars
from veilsync.v1 import transformer_pb2 as t

# E.164 allows at most 15 digits; fewer than 9 is no real number anywhere.
FEWEST, MOST = 9, 15
_POWERS = np.array([10**i for i in range(20)], dtype=np.uint64)


def phone_digits(h: U64, counts: npt.NDArray[np.int64]) -> pa.Array:
    """`counts[row]` digits, the first never 0."""
    first = pa.array(1 + below(h, 9)).cast(pa.string())
    rest = random_chars(derive(h, 9), np.maximum(counts - 1, 0), b"0123456789")
    return pc.binary_join_element_wise(first, rest, "")


def nanp(h: U64) -> npt.NDArray[np.int64]:
    """Ten-digit North American numbers: area and exchange codes never start with 0 or 1."""
    area = 200 + below(h, 800)
    exchange = 200 + below(derive(h, 10), 800)
    line = below(derive(h, 11), 10_000)
    return area * 10_000_000 + exchange * 10_000 + line


def digit_counts(
    options: t.GenerateE164PhoneNumber | t.GenerateStringPhoneNumber, h: U64, default: int
) -> npt.NDArray[np.int64]:
    low = options.min or default
    high = options.max or low
    return low + below(h, high - low + 1)


def check_counts(
    options: t.GenerateE164PhoneNumber | t.GenerateStringPhoneNumber, field: str
) -> None:
    for option in ("min", "max"):
        value = getattr(options, option)
        if value and not FEWEST <= value <= MOST:
            raise option_error(field, option, f"must be from {FEWEST} to {MOST} digits")
    if options.max and options.min > options.max:
        raise option_error(field, "min", f"must not exceed max ({options.min} > {options.max})")


class GenerateE164PhoneNumber(Transformer[t.GenerateE164PhoneNumber]):
    name = "generate_e164_phone_number"
    description = "Generates + and min to max digits (11 by default), such as +15552345678."

    @classmethod
    def check_options(cls, options: t.GenerateE164PhoneNumber, field: str) -> None:
        check_counts(options, field)

    def _transform(self, values: pa.Array) -> pa.Array:
        h = self._hashes(values, 1)[:, 0]
        number = phone_digits(h, digit_counts(self.options, h, 11))
        return pc.binary_join_element_wise("+", number, "")


class GenerateStringPhoneNumber(Transformer[t.GenerateStringPhoneNumber]):
    name = "generate_string_phone_number"
    description = "Generates min to max digits (10 by default), the first never 0."

    @classmethod
    def check_options(cls, options: t.GenerateStringPhoneNumber, field: str) -> None:
        check_counts(options, field)

    def _transform(self, values: pa.Array) -> pa.Array:
        h = self._hashes(values, 1)[:, 0]
        return phone_digits(h, digit_counts(self.options, h, 10))


class GenerateInt64PhoneNumber(Transformer[t.GenerateInt64PhoneNumber]):
    name = "generate_int64_phone_number"
    description = "Generates a ten-digit North American phone number as an integer."
    data_types = (TypeFamily.INTEGER, TypeFamily.NUMERIC, TypeFamily.TEXT)

    @classmethod
    def check_column(cls, options: t.GenerateInt64PhoneNumber, column: Column, field: str) -> None:
        bounds = column_range(column)
        if bounds is not None and bounds[1] < 9_999_999_999:
            raise InvalidArgumentError(field, f"ten-digit numbers do not fit {column.data_type}")

    def _transform(self, values: pa.Array) -> pa.Array:
        return text(nanp(self._hashes(values, 1)[:, 0]))


class TransformE164PhoneNumber(Transformer[t.TransformE164PhoneNumber]):
    name = "transform_e164_phone_number"
    description = (
        "Replaces an E.164 phone number with + and as many digits (preserve_length) or with "
        "+1 and ten digits."
    )

    def _transform(self, values: pa.Array) -> pa.Array:
        h = self._hashes(values, 1)[:, 0]
        if self.options.preserve_length:
            counts = pc.count_substring_regex(values, "[0-9]").to_numpy(zero_copy_only=False)
            number = phone_digits(h, np.clip(counts.astype(np.int64), 1, MOST))
        else:
            number = pc.binary_join_element_wise("1", text(nanp(h)), "")
        return pc.binary_join_element_wise("+", number, "")


class TransformPhoneNumber(Transformer[t.TransformPhoneNumber]):
    name = "transform_phone_number"
    description = "Replaces each digit of a phone number and keeps its punctuation and length."

    def _transform(self, values: pa.Array) -> pa.Array:
        return scramble(values, self._hashes(values, 1)[:, 0], letters=False)


class TransformInt64PhoneNumber(Transformer[t.TransformInt64PhoneNumber]):
    name = "transform_int64_phone_number"
    description = "Replaces an integer phone number with another one of as many digits."
    data_types = (TypeFamily.INTEGER, TypeFamily.NUMERIC)

    def _transform(self, values: pa.Array) -> pa.Array:
        numbers = np.abs(parse(values, pa.int64(), self.name).astype(np.int64))
        counts = pc.utf8_length(text(numbers)).to_numpy(zero_copy_only=False).astype(np.int64)
        low = _POWERS[counts - 1]
        # 19 digits would pass int64's top (9.2 x 10^18): those stay below it.
        span = np.minimum(_POWERS[np.minimum(counts, 19)] - low, np.uint64(2**63) - low)
        span = np.where(counts == 1, np.uint64(9), span)
        low = np.where(counts == 1, np.uint64(1), low)
        return text((low + self._hashes(values, 1)[:, 0] % span).astype(np.int64))
