"""Numbers, booleans and timestamps stay within their options and the column's type."""

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from services.common.errors import DataRejectedError
from services.engine.transformers import ColumnBounds, build_transformer
from veilsync.v1 import transformer_pb2 as t

KEY = b"k" * 32
ROWS = [str(i) for i in range(300)]


def run(
    config: t.TransformerConfig, values: list[str], bounds: ColumnBounds | None = None
) -> list[str]:
    out: list[str] = (
        build_transformer(config, KEY, bounds=bounds).transform(pa.array(values)).to_pylist()
    )
    return out


def test_bounds_are_read_from_the_type_spelling() -> None:
    assert ColumnBounds.of("numeric(7, 2)").integer_range() == (-99_999, 99_999)
    assert ColumnBounds.of("smallint").integer_range() == (-32_768, 32_767)
    assert ColumnBounds.of("character varying(12)", 12).max_length == 12
    assert ColumnBounds.of("text").integer_range() is None


def test_generated_integers_stay_in_range() -> None:
    config = t.TransformerConfig(generate_int64=t.GenerateInt64(min=-5, max=5))
    out = {int(v) for v in run(config, ROWS)}
    assert out == set(range(-5, 6))
    full = t.TransformerConfig(generate_int64=t.GenerateInt64(min=-(2**63), max=2**63 - 1))
    assert len(set(run(full, ROWS))) == len(ROWS)


def test_generated_floats_keep_the_column_scale_and_range() -> None:
    config = t.TransformerConfig(generate_float64=t.GenerateFloat64(min=-50, max=50))
    out = run(config, ROWS, ColumnBounds.of("numeric(4,2)"))
    for value in out:
        number = Decimal(value)
        assert -50 <= number <= 50 and -number.as_tuple().exponent <= 2  # type: ignore[operator]
    precise = t.TransformerConfig(generate_float64=t.GenerateFloat64(max=1, precision=0))
    assert set(run(precise, ROWS)) <= {"0", "1"}


def test_int64_offsets_stay_within_the_column_type() -> None:
    config = t.TransformerConfig(
        transform_int64=t.TransformInt64(randomization_range_min=-3, randomization_range_max=3)
    )
    out = run(config, ["100"] + ["32767"] * 3, ColumnBounds.of("smallint"))
    assert 97 <= int(out[0]) <= 103 and all(int(v) <= 32_767 for v in out)
    top = run(config, [str(2**63 - 1), str(-(2**63))])
    assert 2**63 - 4 <= int(top[0]) <= 2**63 - 1  # clamped at the top, not wrapped around
    assert -(2**63) <= int(top[1]) <= -(2**63) + 3


def test_float64_offsets_keep_precision_and_scale() -> None:
    config = t.TransformerConfig(
        transform_float64=t.TransformFloat64(randomization_range_min=-1, randomization_range_max=1)
    )
    out = run(config, ["10.00", "999.99"], ColumnBounds.of("numeric(5,2)"))
    assert 9 <= Decimal(out[0]) <= 11 and Decimal(out[1]) <= Decimal("999.99")
    assert all(len(v.split(".")[1]) == 2 for v in out)


def test_numbers_that_do_not_parse_are_rejected() -> None:
    config = t.TransformerConfig(transform_scramble_identity=t.TransformScrambleIdentity())
    with pytest.raises(DataRejectedError, match="not a number"):
        run(config, ["12", "twelve"])


def test_timestamps_fall_in_range_and_parse() -> None:
    low, high = 1_700_000_000, 1_700_086_400
    config = t.TransformerConfig(generate_utctimestamp=t.GenerateUtcTimestamp(min=low, max=high))
    for value in run(config, ROWS):
        stamp = dt.datetime.fromisoformat(value).timestamp()
        assert low <= stamp <= high
    unix = t.TransformerConfig(generate_unixtimestamp=t.GenerateUnixTimestamp())
    assert all(946_684_800 <= int(v) <= 1_893_456_000 for v in run(unix, ROWS))


def test_booleans_are_postgres_literals() -> None:
    config = t.TransformerConfig(generate_bool=t.GenerateBool())
    assert set(run(config, ROWS)) == {"true", "false"}


def test_int64_phone_numbers_keep_their_digit_count() -> None:
    config = t.TransformerConfig(transform_int64_phone_number=t.TransformInt64PhoneNumber())
    values = ["5551234567", "7", "44", str(2**63 - 1)]
    out = run(config, values)
    assert [len(v) for v in out] == [len(v) for v in values] and int(out[-1]) < 2**63
    nanp = t.TransformerConfig(generate_int64_phone_number=t.GenerateInt64PhoneNumber())
    assert all(len(v) == 10 and v[0] not in "01" for v in run(nanp, ROWS))
