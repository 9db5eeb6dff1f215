"""The vectorized FF1 against a plain-Python FF1 written from NIST SP 800-38G, Algorithms 7
and 8 (encryption and decryption), which itself reproduces NIST's published samples both ways;
the cycle walk against the same reference; the cycle built on them moves every value."""

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from services.engine.transformers.feistel import (
    FF1,
    MAX_BITS,
    MIN_BITS,
    MIN_SIZE,
    RangeCycle,
    RangePermutation,
)
from services.engine.transformers.prf import U64

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
KEY_128 = "2B7E151628AED2A6ABF7158809CF4F3C"
KEY_192 = KEY_128 + "EF4359D8D580AA4F"
KEY_256 = KEY_192 + "7F036D6F04FC6A94"
TWEAK_10 = "39383736353433323130"
TWEAK_36 = "3737373770717273373737"
# NIST's FF1 samples 1-9 (key, radix, tweak, plaintext, ciphertext).
SAMPLES = [
    (KEY_128, 10, "", "0123456789", "2433477484"),
    (KEY_128, 10, TWEAK_10, "0123456789", "6124200773"),
    (KEY_128, 36, TWEAK_36, "0123456789abcdefghi", "a9tv40mll9kdu509eum"),
    (KEY_192, 10, "", "0123456789", "2830668132"),
    (KEY_192, 10, TWEAK_10, "0123456789", "2496655549"),
    (KEY_192, 36, TWEAK_36, "0123456789abcdefghi", "xbj3kv35jrawxv32ysr"),
    (KEY_256, 10, "", "0123456789", "6657667009"),
    (KEY_256, 10, TWEAK_10, "0123456789", "1001623463"),
    (KEY_256, 36, TWEAK_36, "0123456789abcdefghi", "xs8a0azh2avyalyzuwd"),
]


def aes(key: bytes, block: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def prf(key: bytes, data: bytes) -> bytes:
    """CBC-MAC with AES: SP 800-38G's PRF."""
    y = bytes(16)
    for j in range(0, len(data), 16):
        y = aes(key, bytes(a ^ b for a, b in zip(y, data[j : j + 16], strict=True)))
    return y


def num(digits: list[int], radix: int) -> int:
    value = 0
    for digit in digits:
        value = value * radix + digit
    return value


def numerals(value: int, radix: int, length: int) -> list[int]:
    out = []
    for _ in range(length):
        value, digit = divmod(value, radix)
        out.append(digit)
    return out[::-1]


def ff1_reference(
    key: bytes, tweak: bytes, radix: int, x: list[int], decrypt: bool = False
) -> list[int]:
    """FF1.Encrypt(K, T, X), or FF1.Decrypt (Algorithm 8) with `decrypt`, step by step as the
    standard writes them."""
    n, t = len(x), len(tweak)
    u, v = n // 2, n - n // 2
    a, b = x[:u], x[u:]
    b_bytes = -(-(radix**v - 1).bit_length() // 8)  # ceil(ceil(v log2 radix) / 8)
    d = 4 * -(-b_bytes // 4) + 4
    p = bytes([1, 2, 1]) + radix.to_bytes(3, "big") + bytes([10, u % 256])
    p += n.to_bytes(4, "big") + t.to_bytes(4, "big")

    def y_of(i: int, half: list[int]) -> int:
        """Steps 6.i-6.iv: the round's number from the PRF of P || Q, Q ending in NUM(half)."""
        q = (
            tweak
            + bytes((-t - b_bytes - 1) % 16)
            + bytes([i])
            + num(half, radix).to_bytes(b_bytes, "big")
        )
        r = prf(key, p + q)
        s = r
        for j in range(1, -(-d // 16)):
            s += aes(key, bytes(a ^ b for a, b in zip(r, j.to_bytes(16, "big"), strict=True)))
        return int.from_bytes(s[:d], "big")

    for i in reversed(range(10)) if decrypt else range(10):
        m = u if i % 2 == 0 else v
        if decrypt:
            c = (num(b, radix) - y_of(i, a)) % radix**m
            a, b = numerals(c, radix, m), a
        else:
            c = (num(a, radix) + y_of(i, b)) % radix**m
            a, b = b, numerals(c, radix, m)
    return a + b


def reference_bits(key: bytes, bits: int, value: int, decrypt: bool = False) -> int:
    """FF1 of `value` as the numeral string of its `bits` bits, most significant first."""
    return num(ff1_reference(key, b"", 2, numerals(value, 2, bits), decrypt), 2)


@pytest.mark.parametrize(("key", "radix", "tweak", "plain", "cipher"), SAMPLES)
def test_the_reference_encrypts_and_decrypts_nist_samples(
    key: str, radix: int, tweak: str, plain: str, cipher: str
) -> None:
    digits = [DIGITS.index(c) for c in plain]
    out = ff1_reference(bytes.fromhex(key), bytes.fromhex(tweak), radix, digits)
    assert "".join(DIGITS[d] for d in out) == cipher
    back = ff1_reference(bytes.fromhex(key), bytes.fromhex(tweak), radix, out, decrypt=True)
    assert back == digits


keys = st.binary(min_size=32, max_size=32)


@settings(max_examples=40, deadline=None)
@given(keys, st.integers(MIN_BITS, MAX_BITS), st.data())
def test_vectorized_ff1_is_the_reference(key: bytes, bits: int, data: st.DataObject) -> None:
    values = data.draw(st.lists(st.integers(0, 2**bits - 1), min_size=1, max_size=8))
    out = FF1(key, bits).encrypt(np.array(values, dtype=np.uint64))
    assert out.tolist() == [reference_bits(key, bits, value) for value in values]


@settings(max_examples=40, deadline=None)
@given(keys, st.integers(MIN_BITS, MAX_BITS), st.data())
def test_vectorized_ff1_decrypts_as_the_reference(
    key: bytes, bits: int, data: st.DataObject
) -> None:
    values = data.draw(st.lists(st.integers(0, 2**bits - 1), min_size=1, max_size=8))
    ff1 = FF1(key, bits)
    out = ff1.decrypt(np.array(values, dtype=np.uint64))
    assert out.tolist() == [reference_bits(key, bits, value, decrypt=True) for value in values]
    assert ff1.decrypt(ff1.encrypt(np.array(values, dtype=np.uint64))).tolist() == values


def test_ff1_permutes_its_whole_domain() -> None:
    out = FF1(b"k" * 32, MIN_BITS).encrypt(np.arange(2**MIN_BITS, dtype=np.uint64))
    assert np.array_equal(np.sort(out), np.arange(2**MIN_BITS, dtype=np.uint64))


@settings(max_examples=4, deadline=None)
@given(keys, st.integers(MIN_SIZE, 2**21))
def test_cycle_walking_permutes_a_range_exactly(key: bytes, size: int) -> None:
    out = RangePermutation(key, size)(np.arange(size, dtype=np.uint64))
    assert np.array_equal(np.sort(out), np.arange(size, dtype=np.uint64))


def walk_reference(key: bytes, size: int, value: int) -> int:
    bits = (size - 1).bit_length()
    value = reference_bits(key, bits, value)
    while value >= size:
        value = reference_bits(key, bits, value)
    return value


@settings(max_examples=30, deadline=None)
@given(keys, st.integers(MIN_SIZE, 2**64), st.data())
def test_cycle_walking_stays_in_any_range_as_the_reference_walks(
    key: bytes, size: int, data: st.DataObject
) -> None:
    values = data.draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=6, unique=True))
    out = RangePermutation(key, size)(np.array(values, dtype=np.uint64)).tolist()
    assert out == [walk_reference(key, size, value) for value in values]
    assert len(set(out)) == len(values) and all(o < size for o in out)


@settings(max_examples=30, deadline=None)
@given(keys, st.integers(MIN_SIZE, 2**64), st.data())
def test_the_inverse_walk_undoes_the_walk(key: bytes, size: int, data: st.DataObject) -> None:
    values = data.draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=6))
    x = np.array(values, dtype=np.uint64)
    permutation = RangePermutation(key, size)
    assert permutation.inverse(permutation(x)).tolist() == values
    assert permutation(permutation.inverse(x)).tolist() == values


def follows_the_shifted_permutation(key: bytes, size: int, x: U64) -> None:
    """g(x) = f^-1((f(x) + 1) mod size) stays in the range and moves every value. Over a whole
    range, f(g(x)) = f(x) + 1 everywhere makes g a single cycle, hence a bijection."""
    f = RangePermutation(key, size)
    out = RangeCycle(key, size)(x)
    assert size == 2**64 or bool((out < np.uint64(size)).all())
    assert not (out == x).any()
    expected = [(y + 1) % size for y in f(x).tolist()]
    assert f(out).tolist() == expected


@settings(max_examples=30, deadline=None)
@given(keys, st.integers(MIN_SIZE, 2**64), st.data())
def test_the_cycle_moves_every_value_within_any_range(
    key: bytes, size: int, data: st.DataObject
) -> None:
    values = data.draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=6, unique=True))
    # The values f sends to the range's ends, where the shift wraps around.
    ends = RangePermutation(key, size).inverse(np.array([0, size - 1], dtype=np.uint64))
    x = np.unique(np.concatenate([np.array(values, dtype=np.uint64), ends]))
    follows_the_shifted_permutation(key, size, x)
    assert len(np.unique(RangeCycle(key, size)(x))) == len(x)


@pytest.mark.parametrize("size", [2**MIN_BITS, MIN_SIZE])
def test_the_cycle_is_a_derangement_of_a_whole_range(size: int) -> None:
    key = bytes(32)  # its permutation of either range leaves 2 values in place
    x = np.arange(size, dtype=np.uint64)
    assert (RangePermutation(key, size)(x) == x).sum() == 2
    follows_the_shifted_permutation(key, size, x)
    assert np.array_equal(np.sort(RangeCycle(key, size)(x)), x)


def test_ranges_under_a_million_values_are_refused() -> None:
    with pytest.raises(ValueError, match="1,000,000"):
        RangePermutation(b"k" * 32, 2**16)
    with pytest.raises(ValueError):
        FF1(b"k" * 32, MIN_BITS - 1)
    with pytest.raises(ValueError, match="1,000,000"):
        RangeCycle(b"k" * 32, MIN_SIZE - 1)
