"""Identifiers: keys stay unique under transform_scramble_identity and transform_uuid."""

import uuid

import numpy as np
import pyarrow as pa

from services.engine.transformers import build_transformer
from services.engine.transformers.feistel import permute_below, round_keys
from services.engine.transformers.identity import luhn_check_digit
from veilsync.v1 import transformer_pb2 as t

KEY = b"k" * 32
SCRAMBLE = t.TransformerConfig(transform_scramble_identity=t.TransformScrambleIdentity())
UUID = t.TransformerConfig(transform_uuid=t.TransformUuid())


def run(config: t.TransformerConfig, values: list[str], key: bytes = KEY) -> list[str]:
    out: list[str] = build_transformer(config, key).transform(pa.array(values)).to_pylist()
    return out


def test_cycle_walking_permutes_a_small_range_exactly() -> None:
    keys = round_keys(b"s" * 32, "test")
    out = permute_below(np.arange(1000, dtype=np.uint64), 1000, keys)
    assert sorted(out.tolist()) == list(range(1000))


def test_scrambled_keys_stay_unique_signed_and_within_their_type() -> None:
    keys = [*range(-300, 300), *range(32_700, 32_800), 2**31 - 1, 2**31, 2**63 - 1, -(2**63)]
    out = [int(v) for v in run(SCRAMBLE, [str(k) for k in keys])]
    assert len(set(out)) == len(keys)
    assert out != keys
    for key, new in zip(keys, out, strict=True):
        assert (key < 0) == (new < 0)
        for top in (2**15, 2**31, 2**63):
            if -top <= key < top:
                assert -top <= new < top
                break


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
