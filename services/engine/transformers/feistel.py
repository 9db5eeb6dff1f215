"""Keyed permutations of integer ranges: bijections, so distinct keys stay distinct without any
lookup store, computed over a whole column at once.

The permutation is FF1 of NIST SP 800-38G (format-preserving encryption) with radix 2: a value
below 2^n is the numeral string of its n bits, most significant first. FF1 is a 10-round
Feistel network whose round function is AES (here AES-256) in CBC-MAC mode over the round
number and one half; with radix 2, no tweak and n <= 64 that MAC is a single AES block, so each
round is one AES-ECB call over every row of the batch plus a few NumPy operations, never a
Python loop over values. The implementation is checked against a plain-Python FF1 that
reproduces NIST's published samples (tests/unit/test_feistel.py).

SP 800-38G requires the domain to hold at least 10^6 values (radix^minlen >= 1,000,000):
against a smaller one, an attacker who learns some (input, output) pairs can tabulate or guess
the rest. So no range of fewer than MIN_SIZE values is permuted here; a caller must refuse it.

A range [0, size) that is not a power of two is permuted by cycle walking: the value is
encrypted over the smallest power-of-two domain holding the range, and re-encrypted while it
lands outside. Following a permutation's cycle from a value in the range must come back into
the range, so the walk ends and the restriction is itself a permutation of the range (Black
and Rogaway, "Ciphers with arbitrary finite domains", 2002), as strong as FF1 on it. With a
domain under twice the range, each step lands inside with probability over 1/2: the expected
number of encryptions per value stays below 2. Decrypting the same way walks the cycle back.

A permutation maps about one value of its range to itself; RangeCycle composes the permutation,
a shift by one and its inverse into one that maps none."""

from collections.abc import Callable

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from services.engine.transformers.prf import U64

ROUNDS = 10  # FF1's, fixed by the standard
MIN_SIZE = 10**6  # SP 800-38G's smallest domain
MIN_BITS = 20  # 2^20 = 1,048,576: the smallest power-of-two domain holding MIN_SIZE values
MAX_BITS = 64
_RADIX = 2


class FF1:
    """FF1-AES256 with radix 2 and an empty tweak: a permutation of [0, 2^bits)."""

    def __init__(self, key: bytes, bits: int) -> None:
        if not MIN_BITS <= bits <= MAX_BITS:
            raise ValueError(f"FF1 here permutes 2^{MIN_BITS} to 2^{MAX_BITS} values, not 2^{bits}")
        self._u, self._v = bits // 2, bits - bits // 2
        # Bytes of NUM(B) in each round's block: at most 4, as v <= 32.
        self._b = -(-self._v // 8)
        self._cipher = Cipher(algorithms.AES(key), modes.ECB())
        # P, the block every round's CBC-MAC starts with: version, method, addition, radix,
        # rounds, u mod 256, n and the tweak's length (0).
        p = bytes([1, 2, 1, 0, 0, _RADIX, ROUNDS, self._u % 256])
        p += bits.to_bytes(4, "big") + (0).to_bytes(4, "big")
        encryptor = self._cipher.encryptor()
        # The MAC of P || Q is AES(AES(P) xor Q): AES(P) is the same for every value and round.
        self._first = np.frombuffer(encryptor.update(p) + encryptor.finalize(), ">u8").copy()

    def encrypt(self, x: U64) -> U64:
        """Each value's ciphertext; values must be below 2^bits."""
        return self._feistel(x, inverse=False)

    def decrypt(self, x: U64) -> U64:
        """Each value's plaintext (FF1.Decrypt, Algorithm 8): the rounds run backwards, each
        taking A back from the same round MAC; values must be below 2^bits."""
        return self._feistel(x, inverse=True)

    def _feistel(self, x: U64, inverse: bool) -> U64:
        if not len(x):
            return x.astype(np.uint64)
        v_mask = np.uint64((1 << self._v) - 1)
        a, b = x >> np.uint64(self._v), x & v_mask
        encryptor = self._cipher.encryptor()
        blocks = np.empty((len(x), 2), dtype=">u8")
        blocks[:, 0] = self._first[0]
        # Encrypted in place of a buffer made once (update_into wants a block's slack).
        output = bytearray(blocks.nbytes + 15)
        r = np.frombuffer(output, ">u8", count=blocks.size).reshape(-1, 2)
        for i in reversed(range(ROUNDS)) if inverse else range(ROUNDS):
            # Round i's MAC is over the half it leaves as its A when decrypting, its B when
            # encrypting. Q = [0]^(15-b) || [i] || NUM(that half) in b bytes: all within the
            # block's low word.
            blocks[:, 1] = self._first[1] ^ ((a if inverse else b) | np.uint64(i << (8 * self._b)))
            encryptor.update_into(blocks.data.cast("B"), output)
            # S is R's first d = 8 bytes (b <= 4), y = NUM(S); c = (NUM(A) + y) mod 2^m when
            # encrypting, (NUM(B) - y) mod 2^m when decrypting, which wrapping uint64
            # arithmetic computes exactly since m < 64.
            m_mask = np.uint64((1 << (self._u if i % 2 == 0 else self._v)) - 1)
            y = r[:, 0].astype(np.uint64)
            if inverse:
                a, b = (b - y) & m_mask, a
            else:
                a, b = b, (a + y) & m_mask
        return (a << np.uint64(self._v)) | b


class RangePermutation:
    """A keyed bijection of [0, size), for MIN_SIZE <= size <= 2^64: FF1 over the smallest
    power-of-two domain holding the range, cycle-walked."""

    def __init__(self, key: bytes, size: int) -> None:
        if not MIN_SIZE <= size <= 1 << MAX_BITS:
            raise ValueError(f"a keyed permutation needs {MIN_SIZE:,} values or more, not {size:,}")
        self.size = size
        self._ff1 = FF1(key, (size - 1).bit_length())

    def __call__(self, x: U64) -> U64:
        return self._walk(self._ff1.encrypt, x)

    def inverse(self, x: U64) -> U64:
        """The values this permutation maps to `x`: the walk backwards, decrypting while the
        value lands outside the range, which retraces the cycle that encryption followed."""
        return self._walk(self._ff1.decrypt, x)

    def _walk(self, cipher: Callable[[U64], U64], x: U64) -> U64:
        out = cipher(x)
        if self.size == 1 << MAX_BITS:
            return out
        end = np.uint64(self.size)
        outside = np.flatnonzero(out >= end)
        while len(outside):
            out[outside] = cipher(out[outside])
            outside = outside[out[outside] >= end]
        return out


class RangeCycle:
    """A keyed bijection of [0, size) with no fixed point, for the sizes RangePermutation
    takes: x goes to f^-1((f(x) + 1) mod size), with f that keyed permutation. A permutation
    alone leaves about one value of its range in place, whatever the key (a random
    permutation's expected number of fixed points is 1), so some keys would copy a key through
    unchanged. This one is f's conjugate of the shift by one: a single cycle through the whole
    range, in which no value maps to itself, as hard to predict without the key as f. It costs
    two cycle walks, encrypting and decrypting, instead of one."""

    def __init__(self, key: bytes, size: int) -> None:
        self.size = size
        self._permutation = RangePermutation(key, size)

    def __call__(self, x: U64) -> U64:
        # Wrapping uint64 addition is exact below 2^64; at 2^64 it is the modulo itself.
        shifted = self._permutation(x) + np.uint64(1)
        if self.size < 1 << MAX_BITS:
            shifted[shifted == np.uint64(self.size)] = 0
        return self._permutation.inverse(shifted)
