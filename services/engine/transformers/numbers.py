"""Numbers, booleans and timestamps: generated in a range, or the input moved by an offset."""

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from services.common.errors import DataRejectedError
from services.engine.schema import Column, TypeFamily
from services.engine.transformers.base import (
    Transformer,
    check_range,
    option_error,
)
from services.engine.transformers.bounds import ColumnBounds
from services.engine.transformers.prf import U64, uniform
from veilsync.v1 import transformer_pb2 as t

INT64 = (-(2**63), 2**63 - 1)
# Fixed defaults rather than "now": a keyed output must not change from one day to the next.
Y2000, Y2030 = 946_684_800, 1_893_456_000
NUMBER_TYPES = (TypeFamily.INTEGER, TypeFamily.NUMERIC, TypeFamily.TEXT)


def integers_in(h: U64, low: int, high: int) -> npt.NDArray[np.int64]:
    """Integers in [low, high] (any int64 range, wrapping arithmetic done in uint64)."""
    span = high - low + 1
    offset = h if span >= 2**64 else h % np.uint64(span)
    return (offset + np.uint64(low % 2**64)).view(np.int64)


def parse(values: pa.Array, to: pa.DataType, name: str) -> npt.NDArray[np.generic]:
    """Numbers from their text. Empty strings are the template's stand-ins for NULLs (a number
    column has no other empty value) and parse as 0; their outputs are replaced by NULL."""
    empty = pc.equal(values, "")
    if pc.any(empty).as_py():
        values = pc.if_else(empty, "0", values)
    try:
        return values.cast(to).to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]
    except pa.ArrowInvalid as err:
        raise DataRejectedError(f"{name}: a value is not a number of type {to}") from err


def text(numbers: npt.NDArray[np.generic]) -> pa.Array:
    return pa.array(numbers).cast(pa.string())


def decimal_text(numbers: npt.NDArray[np.float64], places: int) -> pa.Array:
    """Fixed-point text with `places` decimals (never exponent notation, which a numeric
    column would read but a text column would keep)."""
    rounded = pc.round(pa.array(numbers, pa.float64()), places)
    if np.abs(numbers).max(initial=0.0) < 10.0 ** (30 - places):
        return rounded.cast(pa.decimal128(38, places), safe=False).cast(pa.string())
    return rounded.cast(pa.string())


def column_range(column: Column) -> tuple[int, int] | None:
    return ColumnBounds.of(column.data_type, column.max_length).integer_range()


def check_fits(column: Column, field: str, **options: float) -> None:
    """Each named option value must lie within the column's range."""
    bounds = column_range(column)
    if bounds is None:
        return
    for option, value in options.items():
        if not bounds[0] <= value <= bounds[1]:
            raise option_error(
                field, option, f"{value} is outside {column.data_type} ({bounds[0]}..{bounds[1]})"
            )


class GenerateInt64(Transformer[t.GenerateInt64]):
    name = "generate_int64"
    description = "Generates an integer in [min, max]; 0 and 0 mean [0, 1000000]."
    data_types = NUMBER_TYPES

    @staticmethod
    def _range(options: t.GenerateInt64) -> tuple[int, int]:
        if options.min == options.max == 0:
            return 0, 1_000_000
        return options.min, options.max

    @classmethod
    def check_options(cls, options: t.GenerateInt64, field: str) -> None:
        check_range(field, ("min", options.min), ("max", options.max))

    @classmethod
    def check_column(cls, options: t.GenerateInt64, column: Column, field: str) -> None:
        low, high = cls._range(options)
        check_fits(column, field, min=low, max=high)

    def _transform(self, values: pa.Array) -> pa.Array:
        low, high = self._range(self.options)
        return text(integers_in(self._hashes(values, 1)[:, 0], low, high))


class GenerateFloat64(Transformer[t.GenerateFloat64]):
    name = "generate_float64"
    description = (
        "Generates a number in [min, max] with `precision` decimals (the column's scale, or 6)."
    )
    data_types = (TypeFamily.NUMERIC, TypeFamily.TEXT)

    @staticmethod
    def _range(options: t.GenerateFloat64) -> tuple[float, float]:
        return (0.0, 1000.0) if options.min == options.max == 0 else (options.min, options.max)

    @classmethod
    def check_options(cls, options: t.GenerateFloat64, field: str) -> None:
        check_range(field, ("min", options.min), ("max", options.max))
        if options.HasField("precision") and not 0 <= options.precision <= 15:
            raise option_error(field, "precision", "must be from 0 to 15 decimals")

    @classmethod
    def check_column(cls, options: t.GenerateFloat64, column: Column, field: str) -> None:
        low, high = cls._range(options)
        check_fits(column, field, min=low, max=high)
        scale = ColumnBounds.of(column.data_type).scale
        if options.HasField("precision") and scale is not None and options.precision > scale:
            raise option_error(
                field, "precision", f"{column.data_type} keeps {scale} decimals, not more"
            )

    def _transform(self, values: pa.Array) -> pa.Array:
        low, high = self._range(self.options)
        numbers = low + uniform(self._hashes(values, 1)[:, 0]) * (high - low)
        return decimal_text(numbers, places(self.options, self.bounds))


def places(options: t.GenerateFloat64 | None, bounds: ColumnBounds) -> int:
    if options is not None and options.HasField("precision"):
        return min(options.precision, 15 if bounds.scale is None else bounds.scale)
    return 6 if bounds.scale is None else bounds.scale


class TransformInt64(Transformer[t.TransformInt64]):
    name = "transform_int64"
    description = (
        "Adds a keyed offset from [randomization_range_min, randomization_range_max] to an "
        "integer, kept within the column's type."
    )
    data_types = (TypeFamily.INTEGER, TypeFamily.NUMERIC)

    @classmethod
    def check_options(cls, options: t.TransformInt64, field: str) -> None:
        check_range(
            field,
            ("randomization_range_min", options.randomization_range_min),
            ("randomization_range_max", options.randomization_range_max),
        )

    def _transform(self, values: pa.Array) -> pa.Array:
        numbers = parse(values, pa.int64(), self.name).astype(np.int64)
        opts = self.options
        h = self._hashes(values, 1)[:, 0]
        offset = integers_in(h, opts.randomization_range_min, opts.randomization_range_max)
        with np.errstate(over="ignore"):
            moved = numbers + offset
        # Two's-complement overflow shows as a result whose sign differs from both operands.
        overflow = ((numbers ^ moved) & (offset ^ moved)) < 0
        low, high = self.bounds.integer_range() or INT64
        moved = np.where(overflow, np.where(offset > 0, high, low), moved)
        return text(np.clip(moved, max(low, INT64[0]), min(high, INT64[1])))


class TransformFloat64(Transformer[t.TransformFloat64]):
    name = "transform_float64"
    description = (
        "Adds a keyed offset from [randomization_range_min, randomization_range_max] to a "
        "number, kept within the column's precision and scale."
    )
    data_types = (TypeFamily.NUMERIC,)

    @classmethod
    def check_options(cls, options: t.TransformFloat64, field: str) -> None:
        check_range(
            field,
            ("randomization_range_min", options.randomization_range_min),
            ("randomization_range_max", options.randomization_range_max),
        )

    def _transform(self, values: pa.Array) -> pa.Array:
        numbers = parse(values, pa.float64(), self.name).astype(np.float64)
        low, high = self.options.randomization_range_min, self.options.randomization_range_max
        moved = numbers + low + uniform(self._hashes(values, 1)[:, 0]) * (high - low)
        bounds = self.bounds
        if bounds.precision is not None:
            scale = bounds.scale or 0
            top = 10.0 ** (bounds.precision - scale) - 10.0**-scale
            return decimal_text(np.clip(moved, -top, top), scale)
        return pa.array(moved, pa.float64()).cast(pa.string())


class GenerateBool(Transformer[t.GenerateBool]):
    name = "generate_bool"
    description = "Generates true or false with equal odds."
    data_types = (TypeFamily.BOOLEAN, TypeFamily.TEXT)

    def _transform(self, values: pa.Array) -> pa.Array:
        flags = (self._hashes(values, 1)[:, 0] & np.uint64(1)).astype(np.bool_)
        return pa.array(flags).cast(pa.string())


class GenerateUnixTimestamp(Transformer[t.GenerateUnixTimestamp]):
    name = "generate_unixtimestamp"
    description = "Generates seconds since 1970 in [min, max]; 0 and 0 mean 2000 to 2030."
    data_types = NUMBER_TYPES

    @classmethod
    def check_options(cls, options: t.GenerateUnixTimestamp, field: str) -> None:
        check_range(field, ("min", options.min), ("max", options.max))

    @classmethod
    def check_column(cls, options: t.GenerateUnixTimestamp, column: Column, field: str) -> None:
        low, high = seconds_range(options)
        check_fits(column, field, min=low, max=high)

    def _transform(self, values: pa.Array) -> pa.Array:
        low, high = seconds_range(self.options)
        return text(integers_in(self._hashes(values, 1)[:, 0], low, high))


def seconds_range(options: t.GenerateUnixTimestamp | t.GenerateUtcTimestamp) -> tuple[int, int]:
    return (Y2000, Y2030) if options.min == options.max == 0 else (options.min, options.max)


class GenerateUtcTimestamp(Transformer[t.GenerateUtcTimestamp]):
    name = "generate_utctimestamp"
    description = (
        "Generates a UTC timestamp with second precision between min and max seconds since "
        "1970 (2000 to 2030 by default), written as 2024-05-01 13:45:10+00."
    )
    data_types = (TypeFamily.TEMPORAL, TypeFamily.TEXT)

    @classmethod
    def check_options(cls, options: t.GenerateUtcTimestamp, field: str) -> None:
        check_range(field, ("min", options.min), ("max", options.max))
        # Year 1 to 9999: what every engine's timestamp type can hold.
        for option in ("min", "max"):
            if not -62_135_596_800 <= getattr(options, option) <= 253_402_300_799:
                raise option_error(field, option, "must lie in years 1 to 9999")

    def _transform(self, values: pa.Array) -> pa.Array:
        low, high = seconds_range(self.options)
        seconds = integers_in(self._hashes(values, 1)[:, 0], low, high)
        stamps = pa.array(seconds, pa.int64()).cast(pa.timestamp("s", "UTC"))
        return pc.strftime(stamps, format="%Y-%m-%d %H:%M:%S+00")
