"""Identifiers: hashes, UUIDs, integer keys, social security and card numbers. Where a key
must stay a key, the mapping is a keyed permutation, so it is unique by construction."""

import hashlib

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from services.common.errors import InvalidArgumentError
from services.engine.schema import Column, TypeFamily
from services.engine.transformers.base import Transformer, option_error
from services.engine.transformers.chars import to_bytes
from services.engine.transformers.feistel import MIN_SIZE, RangeCycle
from services.engine.transformers.numbers import column_range, parse, text
from services.engine.transformers.prf import (
    HEX_DIGITS,
    U64,
    below,
    derive,
    digits,
    strings,
)
from veilsync.v1 import transformer_pb2 as t

# Byte positions of the 32 hex digits in the 36-character 8-4-4-4-12 form.
_UUID_DIGITS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])
# Keeps the keys derived here apart from any other keyed BLAKE2b of the subkey.
PERSON = b"veilsync-ident"
UUID = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
# Non-negative integer keys are permuted within these ranges, by their value alone, so a bigint
# reference to an integer key maps alike. Their bounds are those of the integer types (signed
# and unsigned mediumint, integer, bigint), so a key of any of them keeps fitting it; each holds
# at least the 10^6 values a keyed permutation needs (feistel.py), which is why a smallint
# column is refused rather than given a range of its own.
_BUCKETS = ((0, 2**23), (2**23, 2**24), (2**24, 2**31), (2**31, 2**32), (2**32, 2**63))


def uuid_text(high: U64, low: U64) -> pa.Array:
    words = np.stack([high, low], axis=1).astype(">u8").view(np.uint8).reshape(-1, 16)
    nibbles = np.stack([words >> 4, words & 15], axis=2).reshape(-1, 32)
    chars = np.full((len(high), 36), ord("-"), dtype=np.uint8)
    chars[:, _UUID_DIGITS] = HEX_DIGITS[nibbles]
    return strings(chars.reshape(-1), np.full(len(high), 36, dtype=np.int64))


def uuid_words(values: pa.Array) -> tuple[U64, U64]:
    """The two 64-bit halves of UUIDs already checked against UUID."""
    plain = pc.utf8_lower(pc.replace_substring(values, "-", ""))
    data, _ = to_bytes(plain)
    chars = data.reshape(-1, 32)
    nibbles = np.where(chars >= ord("a"), chars - ord("a") + 10, chars - ord("0"))
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    halves = (nibbles.astype(np.uint64).reshape(-1, 2, 16) << shifts).sum(axis=2, dtype=np.uint64)
    return halves[:, 0].copy(), halves[:, 1].copy()


def version_4(h: npt.NDArray[np.uint64]) -> tuple[U64, U64]:
    """RFC 9562 version 4 layout over 122 keyed bits."""
    high = (h[:, 0] & np.uint64(0xFFFFFFFFFFFF0FFF)) | np.uint64(0x4000)
    low = (h[:, 1] & np.uint64(0x3FFFFFFFFFFFFFFF)) | np.uint64(0x8000000000000000)
    return high, low


class TransformHash(Transformer[t.TransformHash]):
    name = "transform_hash"
    description = "Replaces the value with a 256-bit keyed hash of it, hex encoded."
    unique_outputs = True

    @classmethod
    def check_options(cls, options: t.TransformHash, field: str) -> None:
        if not 0 <= options.length <= 64:
            raise option_error(field, "length", "must be from 0 (all 64) to 64 hex characters")

    def _transform(self, values: pa.Array) -> pa.Array:
        hexes = self._hex_hashes(values)
        keep = self.options.length
        return pc.utf8_slice_codeunits(hexes, 0, keep) if 0 < keep < 64 else hexes


class GenerateSha256Hash(Transformer[t.GenerateSha256Hash]):
    name = "generate_sha256hash"
    description = "Generates 64 hex characters shaped like a SHA-256 digest."
    unique_outputs = True

    def _transform(self, values: pa.Array) -> pa.Array:
        return self._hex_hashes(values)


class GenerateUuid(Transformer[t.GenerateUuid]):
    name = "generate_uuid"
    description = "Generates a version 4 UUID."
    data_types = (TypeFamily.UUID, TypeFamily.TEXT)
    unique_outputs = True

    def _transform(self, values: pa.Array) -> pa.Array:
        return uuid_text(*version_4(self._hashes(values, 2)))


class TransformUuid(Transformer[t.TransformUuid]):
    """Each UUID's 128 bits encrypted with AES-256, a keyed permutation of 128-bit blocks, so
    distinct UUIDs stay distinct (version and variant bits are permuted too). Values that are
    not UUIDs get a keyed version 4 UUID, which may meet another output only with the odds of a
    random UUID collision (n^2 / 2^123)."""

    name = "transform_uuid"
    description = "Replaces a UUID with a keyed permutation of it; distinct UUIDs stay distinct."
    data_types = (TypeFamily.UUID, TypeFamily.TEXT)
    unique_outputs = True
    version = 2  # 2: AES-256 instead of an 8-round Feistel network of SplitMix64 rounds

    def _transform(self, values: pa.Array) -> pa.Array:
        key = hashlib.blake2b(b"uuid", key=self._subkey, digest_size=32, person=PERSON).digest()
        valid = pc.match_substring_regex(values, UUID)
        if pc.all(valid).as_py():
            return uuid_text(*encrypt_128(*uuid_words(values), key))
        outputs = uuid_text(*version_4(self._hashes(values, 2)))
        good = pc.filter(values, valid)
        if len(good):
            permuted = uuid_text(*encrypt_128(*uuid_words(good), key))
            rows = np.flatnonzero(valid.to_numpy(zero_copy_only=False))
            chars, _ = to_bytes(outputs)
            chars = chars.reshape(-1, 36).copy()
            chars[rows] = to_bytes(permuted)[0].reshape(-1, 36)
            outputs = strings(chars.reshape(-1), np.full(len(values), 36, dtype=np.int64))
        return outputs


class TransformScrambleIdentity(Transformer[t.TransformScrambleIdentity]):
    """Non-negative keys are permuted within whichever of _BUCKETS holds them, by FF1 with
    cycle walking (feistel.py), and negative ones alike through -1 - key: a bijection of int64,
    so keys stay unique and references stay joinable. The range a key falls in is not hidden.
    The permutation of each range is a single cycle through it (RangeCycle), so no key is ever
    its own replacement."""

    name = "transform_scramble_identity"
    description = (
        "Replaces an integer key with a keyed permutation of it (FF1), so keys stay unique and "
        "fit their column; smallint and smaller columns are refused (under 10^6 values)."
    )
    data_types = (TypeFamily.INTEGER,)
    unique_outputs = True
    # 2: FF1-AES256 over ranges of at least 10^6 values, conjugating a shift by one so that
    # no key maps to itself, instead of a Feistel network of SplitMix64 rounds whose smallest
    # range held 2^15.
    version = 2

    @classmethod
    def check_column(cls, options: t.TransformScrambleIdentity, column: Column, field: str) -> None:
        bounds = column_range(column)
        if bounds is None or _keeps_range(*bounds):
            return
        low, high = bounds
        held = f"{column.name} ({column.data_type}) holds {high - low + 1:,} values ({low}..{high})"
        if high - low + 1 >= MIN_SIZE:  # no integer type gets here; a future one might
            raise InvalidArgumentError(field, f"{held}: outputs could fall outside it")
        raise InvalidArgumentError(
            field,
            f"{held}, fewer than the {MIN_SIZE:,} a keyed permutation needs (NIST SP 800-38G): "
            "over so few, some known (input, output) pairs give the rest away. Leave it "
            "unchanged if it reveals nothing (passthrough), or replace it with transform_int64 "
            "or generate_int64, which do not keep keys unique",
        )

    def _transform(self, values: pa.Array) -> pa.Array:
        numbers = parse(values, pa.int64(), self.name).astype(np.int64)
        negative = numbers < 0
        magnitude = np.where(negative, -1 - numbers, numbers).astype(np.uint64)
        out = magnitude.copy()
        for start, end in _BUCKETS:
            rows = np.flatnonzero((magnitude >= np.uint64(start)) & (magnitude < np.uint64(end)))
            if len(rows):
                label = f"ff1 {start}..{end}".encode()
                key = hashlib.blake2b(label, key=self._subkey, digest_size=32, person=PERSON)
                permute = RangeCycle(key.digest(), end - start)
                out[rows] = permute(magnitude[rows] - np.uint64(start)) + np.uint64(start)
        signed = out.astype(np.int64)
        return text(np.where(negative, -1 - signed, signed))


def _keeps_range(low: int, high: int) -> bool:
    """Whether the permutation maps [low, high] onto itself: its non-negative part, and the
    mirror of its negative part, are each empty or a run of whole buckets."""
    starts, ends = {start for start, _ in _BUCKETS}, {end - 1 for _, end in _BUCKETS}

    def whole(first: int, last: int) -> bool:
        return first > last or (first in starts and last in ends)

    return whole(max(low, 0), high) and whole(-1 - min(high, -1), -1 - low)


def encrypt_128(high: U64, low: U64, key: bytes) -> tuple[U64, U64]:
    """AES-256 of 128-bit values held as two 64-bit halves, most significant first."""
    blocks = np.stack([high, low], axis=1).astype(">u8")
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    out = np.frombuffer(encryptor.update(blocks.tobytes()), ">u8").reshape(-1, 2)
    return out[:, 0].astype(np.uint64), out[:, 1].astype(np.uint64)


class GenerateSsn(Transformer[t.GenerateSsn]):
    name = "generate_ssn"
    description = "Generates a US social security number (123-45-6789) in assignable ranges."

    def _transform(self, values: pa.Array) -> pa.Array:
        h = self._hashes(values, 1)[:, 0]
        area = 1 + below(h, 898)  # 001-899 without 666
        area = area + (area >= 666)
        group = 1 + below(derive(h, 12), 99)
        serial = 1 + below(derive(h, 13), 9_999)
        parts = [
            pc.utf8_lpad(text(part), width, "0")
            for part, width in ((area, 3), (group, 2), (serial, 4))
        ]
        return pc.binary_join_element_wise(*parts, "-")


class GenerateCardNumber(Transformer[t.GenerateCardNumber]):
    name = "generate_card_number"
    description = "Generates a 16-digit card number starting with 4, Luhn-valid with valid_luhn."
    data_types = (TypeFamily.TEXT, TypeFamily.NUMERIC, TypeFamily.INTEGER)

    @classmethod
    def check_column(cls, options: t.GenerateCardNumber, column: Column, field: str) -> None:
        bounds = column_range(column)
        if bounds is not None and bounds[1] < 10**16:
            raise option_error(field, "valid_luhn", f"16 digits do not fit {column.data_type}")

    def _transform(self, values: pa.Array) -> pa.Array:
        h = self._hashes(values, 1)[:, 0]
        body = digits(h, 14, 14)
        data, _ = to_bytes(body)
        numbers = np.concatenate(
            [np.full((len(h), 1), 4), (data.reshape(-1, 14) - ord("0")).astype(np.int64)], axis=1
        )
        valid = self.options.valid_luhn
        check = luhn_check_digit(numbers) if valid else below(derive(h, 15), 10)
        return pc.binary_join_element_wise("4", body, text(check), "")


def luhn_check_digit(numbers: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The digit that makes each row of digits (most significant first) pass the Luhn check:
    from the right, every second digit of the payload is doubled, nines cast out."""
    doubled = numbers[:, ::-1].copy()
    twice = doubled[:, 0::2] * 2
    doubled[:, 0::2] = np.where(twice > 9, twice - 9, twice)
    total: npt.NDArray[np.int64] = (10 - doubled.sum(axis=1) % 10) % 10
    return total
