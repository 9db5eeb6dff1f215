"""The keyed PRF under every keyed transformer: the documented construction, computed for a
whole column at once, with no collisions between lookalike values."""

import struct
import tracemalloc

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.engine.transformers import build_transformer
from services.engine.transformers.keyed import KeyedHash, P, compiled_hashing
from veilsync.v1 import transformer_pb2 as t

SUBKEY = b"s" * 64
HASH = t.TransformerConfig(transform_hash=t.TransformHash())


def hashes(values: list[str] | pa.Array, words: int = 2, subkey: bytes = SUBKEY) -> np.ndarray:
    column = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    return KeyedHash(subkey)(column, words)


def reference(keyed: KeyedHash, value: str, words: int) -> list[int]:
    """The module docstring's construction, one value at a time in plain Python."""
    data = value.encode()
    data = bytes(-len(data) % 3) + data
    limbs = [int.from_bytes(data[i : i + 3], "big") for i in range(0, len(data), 3)]
    out: list[int] = []
    for block in range((words + 1) // 2):
        lanes = []
        for bit, point in enumerate(keyed._points):
            h = 0
            for limb in limbs:
                h = (h * point + limb) % P
            lanes.append(h | ((block >> bit) & 1) << 31)
        block_in = struct.pack("<4I", *lanes, len(value.encode()))
        out += struct.unpack("<2Q", keyed._cipher.encryptor().update(block_in))
    return out[:words]


def test_outputs_follow_the_documented_construction() -> None:
    values = ["", "a", "héllo", "user7@corp.test", "z" * 20_000, "\x00\x00a"]
    keyed = KeyedHash(SUBKEY)
    out = keyed(pa.array(values), 4)
    for row, value in enumerate(values):
        assert out[row].tolist() == reference(keyed, value, 4)


def test_same_key_repeats_and_other_keys_or_subkeys_differ() -> None:
    values = [f"user{i}@corp.test" for i in range(100)]
    first = hashes(values)
    assert (first == hashes(values)).all()
    assert not (first[:, 0] == hashes(values, subkey=b"o" * 64)[:, 0]).any()
    one = build_transformer(HASH, b"k" * 32).transform(pa.array(values)).to_pylist()
    other_key = build_transformer(HASH, b"o" * 32).transform(pa.array(values)).to_pylist()
    shorter = t.TransformerConfig(transform_hash=t.TransformHash(length=12))
    other_options = build_transformer(shorter, b"k" * 32).transform(pa.array(values)).to_pylist()
    other_name = t.TransformerConfig(generate_sha256hash=t.GenerateSha256Hash())
    other_transformer = build_transformer(other_name, b"k" * 32).transform(pa.array(values))
    assert not set(one) & set(other_key)
    assert not {h[:12] for h in one} & set(other_options)
    assert not set(one) & set(other_transformer.to_pylist())


def test_a_million_distinct_short_values_never_collide() -> None:
    values = pa.array([f"user{i}@corp.test" for i in range(1_000_000)])
    out = hashes(values, 2)
    assert len(np.unique(out[:, 0])) == len(values)


def test_zero_padding_lookalikes_and_one_byte_changes_differ() -> None:
    lookalikes = ["", "\x00", "\x00\x00", "\x00\x00\x00", "\x01", "\x00\x01", "\x00\x00\x01"]
    lookalikes += ["a", "\x00a", "\x00\x00a", "\x00\x00\x00a", "a\x00", "\x01\x00\x00"]
    base = "q" * 47
    one_byte = [base[:i] + "r" + base[i + 1 :] for i in range(len(base))] + [base]
    # Both sides of every group boundary (lengths in limbs of 3 bytes, groups of 2^k limbs).
    edges = [c * n for c in ("a", "\x00") for n in range(200)]
    values = list(dict.fromkeys(lookalikes + one_byte + edges))
    assert len(np.unique(hashes(values, 1)[:, 0])) == len(values)


def test_a_value_hashes_alike_whatever_else_is_in_the_batch() -> None:
    values = ["", "a", "bb" * 5, "c" * 40, "d" * 700, "e" * 9000]
    together = hashes(values, 4)
    for row, value in enumerate(values):
        assert (hashes([value], 4)[0] == together[row]).all()
    assert (hashes(values[::-1], 4)[::-1] == together).all()


def test_sliced_large_and_null_filled_arrays_match_plain_ones() -> None:
    values = [f"v{i}" * (i % 7) for i in range(40)]
    plain = hashes(values[5:25], 2)
    assert (hashes(pa.array(values).slice(5, 20), 2) == plain).all()
    assert (hashes(pa.array(values, pa.large_string()).slice(5, 20), 2) == plain).all()
    with_null = pa.array([*values[5:10], None, *values[11:25]])
    assert (hashes(with_null, 2)[5] == hashes([""], 2)[0]).all()
    assert hashes([], 3).shape == (0, 3)
    with pytest.raises(ValueError, match="words"):
        hashes(values, 17)


def test_one_long_value_keeps_memory_to_its_own_size() -> None:
    values = [f"user{i}@corp.test" for i in range(20_000)]
    values[1234] = "x" * 100_000
    column = pa.array(values)
    keyed = KeyedHash(SUBKEY)
    tracemalloc.start()
    try:
        out = keyed(column, 2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Padding every row to the long value's width would take 20,000 x 100 KB = 2 GB.
    assert peak < 32 * 2**20
    assert (out[1234] == keyed(pa.array(["x" * 100_000]), 2)[0]).all()
    assert (out[:1234] == keyed(pa.array(values[:1234]), 2)).all()


def test_output_bits_look_uniform() -> None:
    out = hashes([str(i) for i in range(100_000)], 4)
    bits = (out[:, :, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
    share = bits.mean(axis=0)
    assert share.min() > 0.45
    assert share.max() < 0.55


def test_the_compiled_and_numpy_hashes_agree() -> None:
    keyed = KeyedHash(SUBKEY)
    compiled = compiled_hashing()
    assert compiled is not None, "_keyed.c did not build here"
    values = pa.array(["", "a", "ab", "abc", "héllo", "z" * 20_000, "\x00\x00a", "\xff" * 7])
    assert (keyed.compiled_lanes(compiled, values) == keyed.numpy_lanes(values)).all()
    part = values.slice(2, 5)
    assert (keyed.compiled_lanes(compiled, part) == keyed.numpy_lanes(part)).all()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=60), st.integers(0, 30))
def test_the_compiled_hash_matches_the_reference_on_generated_text(
    values: list[str], start: int
) -> None:
    keyed = KeyedHash(SUBKEY)
    compiled = compiled_hashing()
    assert compiled is not None
    column = pa.array(values, pa.string()).slice(min(start, len(values)))
    lanes = keyed.compiled_lanes(compiled, column)
    assert (lanes == keyed.numpy_lanes(column)).all()
    out = keyed(column, 3)
    for row, value in enumerate(column.to_pylist()):
        assert out[row].tolist() == reference(keyed, value, 3)


def test_offsets_outside_the_data_are_refused() -> None:
    compiled = compiled_hashing()
    assert compiled is not None
    lanes = np.empty((1, 4), dtype="<u4")
    with pytest.raises(ValueError, match="outside the data"):
        compiled.polynomials(np.array([0, 10], dtype=np.int64), b"abc", (1, 2, 3), lanes)
    with pytest.raises(ValueError, match="disagree"):
        compiled.polynomials(np.array([0, 3], dtype=np.int64), b"abc", (1, 2, 3), lanes[:0])
