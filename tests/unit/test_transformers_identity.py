"""Identifiers: keys stay unique under transform_scramble_identity and transform_uuid."""

import uuid

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.errors import InvalidArgumentError
from services.engine.schema import Column, TypeFamily
from services.engine.transformers import build_transformer, validate_transformer
from services.engine.transformers.identity import luhn_check_digit
from veilsync.v1 import transformer_pb2 as t

KEY = b"k" * 32
SCRAMBLE = t.TransformerConfig(transform_scramble_identity=t.TransformScrambleIdentity())
UUID = t.TransformerConfig(transform_uuid=t.TransformUuid())


def run(config: t.TransformerConfig, values: list[str], key: bytes = KEY) -> list[str]:
    out: list[str] = build_transformer(config, key).transform(pa.array(values)).to_pylist()
    return out


# The inclusive ranges of the integer types a scrambled key must keep fitting: mediumint,
# integer and bigint, signed and unsigned.
TYPE_RANGES = [(-(2**23), 2**23 - 1), (0, 2**24 - 1), (-(2**31), 2**31 - 1), (0, 2**32 - 1)]
TYPE_RANGES.append((-(2**63), 2**63 - 1))


def int_column(data_type: str) -> Column:
    return Column("id", data_type, TypeFamily.INTEGER, nullable=False)


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=16, max_size=32), st.sampled_from(TYPE_RANGES), st.data())
def test_scrambled_keys_stay_unique_signed_and_within_any_integer_type(
    key: bytes, bounds: tuple[int, int], data: st.DataObject
) -> None:
    low, high = bounds
    keys = data.draw(st.lists(st.integers(low, high), min_size=1, max_size=50, unique=True))
    out = [int(v) for v in run(SCRAMBLE, [str(k) for k in keys], key)]
    assert len(set(out)) == len(keys)
    assert all(
        low <= new <= high and (new < 0) == (old < 0) for old, new in zip(keys, out, strict=True)
    )
    assert out == [int(v) for v in run(SCRAMBLE, [str(k) for k in keys], key)]


@pytest.mark.parametrize("key", [KEY, b"o" * 32, bytes(32)])
def test_no_scrambled_key_is_its_own_replacement(key: bytes) -> None:
    # 100k inputs in the first range alone: a plain keyed permutation would leave one of them
    # in place for about 1 key in 80 (100k / 2^23).
    keys = [*range(-300, 100_000), 2**31 - 1, 2**31, 2**63 - 1, -(2**63)]
    out = [int(v) for v in run(SCRAMBLE, [str(k) for k in keys], key)]
    assert not [old for old, new in zip(keys, out, strict=True) if old == new]


@pytest.mark.parametrize("data_type", ["smallint", "int2", "smallserial"])
def test_columns_of_fewer_than_a_million_values_are_refused(data_type: str) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        validate_transformer(SCRAMBLE, "mappings[0].columns[id]", int_column(data_type))
    assert refused.value.field == "mappings[0].columns[id].transform_scramble_identity"
    message = str(refused.value)
    assert f"id ({data_type}) holds 65,536 values (-32768..32767)" in message
    assert "fewer than the 1,000,000" in message and "transform_int64" in message


@pytest.mark.parametrize("data_type", ["integer", "int4", "serial", "bigint", "int8", "INTEGER"])
def test_columns_of_a_million_values_or_more_are_accepted(data_type: str) -> None:
    validate_transformer(SCRAMBLE, "mappings[0].columns[id]", int_column(data_type))


def test_scrambled_keys_join_across_tables_but_not_across_keys() -> None:
    ids = [str(i) for i in range(1, 50)]
    assert run(SCRAMBLE, ids) == run(SCRAMBLE, list(reversed(ids)))[::-1]
    assert run(SCRAMBLE, ids) != run(SCRAMBLE, ids, b"o" * 32)


def test_uuids_stay_unique_and_parse_in_any_spelling() -> None:
    ids = [str(uuid.UUID(int=i)) for i in range(2000)]
    out = run(UUID, ids)
    assert len(set(out)) == len(ids)
    assert all(str(uuid.UUID(o)) == o for o in out)
    spelled = [ids[7].upper(), ids[7].replace("-", "")]
    assert run(UUID, spelled) == [out[7], out[7]]


def test_values_that_are_not_uuids_get_a_version_4_uuid() -> None:
    [odd, real] = run(UUID, ["order-17", str(uuid.UUID(int=5))])
    assert uuid.UUID(odd).version == 4
    assert real == run(UUID, [str(uuid.UUID(int=5))])[0]


def test_generated_uuids_are_version_4() -> None:
    config = t.TransformerConfig(generate_uuid=t.GenerateUuid())
    assert all(uuid.UUID(u).version == 4 for u in run(config, [str(i) for i in range(50)]))


def test_card_numbers_pass_luhn_when_asked() -> None:
    config = t.TransformerConfig(generate_card_number=t.GenerateCardNumber(valid_luhn=True))
    for number in run(config, [str(i) for i in range(100)]):
        digits = np.array([[int(c) for c in number]])
        assert len(number) == 16 and luhn_check_digit(digits[:, :-1])[0] == digits[0, -1]
    assert luhn_check_digit(np.array([[7, 9, 9, 2, 7, 3, 9, 8, 7, 1]]))[0] == 3


def test_ssns_avoid_unassigned_ranges() -> None:
    config = t.TransformerConfig(generate_ssn=t.GenerateSsn())
    for ssn in run(config, [str(i) for i in range(500)]):
        area, group, serial = ssn.split("-")
        assert area not in ("000", "666") and int(area) < 900
        assert group != "00" and serial != "0000"
