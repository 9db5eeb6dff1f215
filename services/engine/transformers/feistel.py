"""Keyed permutations (Feistel networks) over integer ranges and 128-bit values: bijections,
so distinct keys stay distinct without any lookup store. Built on SplitMix64 rounds, they hide
the mapping from anyone without the key but make no claim to be a vetted cipher."""

import hashlib

import numpy as np

from services.engine.transformers.prf import U64, mix

ROUNDS = 8


def round_keys(subkey: bytes, label: str) -> list[np.uint64]:
    digest = hashlib.blake2b(label.encode(), key=subkey, digest_size=8 * ROUNDS).digest()
    return [np.uint64(k) for k in np.frombuffer(digest, dtype="<u8")]


def permute(x: U64, bits: int, keys: list[np.uint64]) -> U64:
    """A bijection of [0, 2^bits), for an even `bits` up to 64."""
    half = np.uint64(bits // 2)
    mask = np.uint64((1 << (bits // 2)) - 1)
    left, right = x >> half, x & mask
    for key in keys:
        left, right = right, left ^ (mix(right ^ key) & mask)
    return (left << half) | right


def permute_below(x: U64, size: int, keys: list[np.uint64]) -> U64:
    """A bijection of [0, size): permuting a power-of-two superset and re-permuting whatever
    lands outside (cycle walking) stays a bijection; each pass keeps over half the values."""
    bits = max(2, (size - 1).bit_length() + (size - 1).bit_length() % 2)
    out = permute(x, bits, keys)
    outside = out >= np.uint64(size)
    while outside.any():
        out[outside] = permute(out[outside], bits, keys)
        outside = out >= np.uint64(size)
    return out


def permute_128(high: U64, low: U64, keys: list[np.uint64]) -> tuple[U64, U64]:
    """A bijection of 128-bit values held as two 64-bit halves."""
    for key in keys:
        high, low = low, high ^ mix(low ^ key)
    return high, low
