"""Free text and categories: random strings, character scrambles, picks from a list,
business names and IP addresses."""

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from services.engine.schema import Column, TypeFamily
from services.engine.transformers import dictionaries
from services.engine.transformers.base import (
    Transformer,
    check_length_fits,
    check_range,
    option_error,
    pick,
)
from services.engine.transformers.chars import matched, scramble
from services.engine.transformers.prf import (
    ALPHANUMERIC,
    HEX_DIGITS,
    U64,
    below,
    derive,
    random_chars,
    strings,
)
from veilsync.v1 import transformer_pb2 as t

DEFAULT_LONGEST = 20


def lengths_between(h: U64, low: int, high: int) -> npt.NDArray[np.int64]:
    low, high = max(low, 1), high or DEFAULT_LONGEST
    return low + below(h, high - max(low, 1) + 1) if high >= low else np.full(len(h), low)


def check_lengths(field: str, low: tuple[str, int], high: tuple[str, int]) -> None:
    for option, value in (low, high):
        if value < 0:
            raise option_error(field, option, "must not be negative")
    if high[1]:
        check_range(field, low, high)


def capped(lengths: npt.NDArray[np.int64], limit: int | None) -> npt.NDArray[np.int64]:
    return np.minimum(lengths, limit) if limit else lengths


class GenerateString(Transformer[t.GenerateString]):
    name = "generate_string"
    description = "Generates min to max letters and digits (1 to 20 by default)."

    @classmethod
    def check_options(cls, options: t.GenerateString, field: str) -> None:
        check_lengths(field, ("min", options.min), ("max", options.max))

    @classmethod
    def check_column(cls, options: t.GenerateString, column: Column, field: str) -> None:
        check_length_fits(column, field, "min", options.min)

    def _transform(self, values: pa.Array) -> pa.Array:
        h = self._hashes(values, 1)[:, 0]
        lengths = lengths_between(h, self.options.min, self.options.max)
        return random_chars(derive(h, 16), capped(lengths, self.bounds.max_length), ALPHANUMERIC)


class TransformString(Transformer[t.TransformString]):
    name = "transform_string"
    description = (
        "Replaces a string with letters and digits, as many as the input with preserve_length "
        "or min_length to max_length (1 to 20 by default)."
    )

    @classmethod
    def check_options(cls, options: t.TransformString, field: str) -> None:
        check_lengths(field, ("min_length", options.min_length), ("max_length", options.max_length))

    @classmethod
    def check_column(cls, options: t.TransformString, column: Column, field: str) -> None:
        if not options.preserve_length:
            check_length_fits(column, field, "min_length", options.min_length)

    def _transform(self, values: pa.Array) -> pa.Array:
        h = self._hashes(values, 1)[:, 0]
        opts = self.options
        if opts.preserve_length:
            lengths = pc.utf8_length(values).to_numpy(zero_copy_only=False).astype(np.int64)
        else:
            lengths = lengths_between(h, opts.min_length, opts.max_length)
        return random_chars(derive(h, 16), capped(lengths, self.bounds.max_length), ALPHANUMERIC)


class TransformCharacterScramble(Transformer[t.TransformCharacterScramble]):
    name = "transform_character_scramble"
    description = (
        "Replaces ASCII letters with letters of the same case and digits with digits, in the "
        "parts matching regex (everywhere by default); other characters are kept. Never gives "
        "back its input, except a value with no such character to replace, kept as is."
    )

    @classmethod
    def check_options(cls, options: t.TransformCharacterScramble, field: str) -> None:
        if options.regex:
            # Compiled by RE2 through Arrow, the engine that will run it.
            try:
                pc.match_substring_regex(pa.array([""]), options.regex)
            except pa.ArrowInvalid as err:
                raise option_error(field, "regex", str(err)) from err

    def _transform(self, values: pa.Array) -> pa.Array:
        h = self._hashes(values, 1)[:, 0]
        selected = matched(values, self.options.regex) if self.options.regex else None
        return scramble(values, h, selected)


class GenerateCategorical(Transformer[t.GenerateCategorical]):
    name = "generate_categorical"
    description = "Generates one of the given categories with equal odds."
    data_types = tuple(TypeFamily)

    @classmethod
    def check_options(cls, options: t.GenerateCategorical, field: str) -> None:
        if not options.categories:
            raise option_error(field, "categories", "give at least one category")

    @classmethod
    def check_column(cls, options: t.GenerateCategorical, column: Column, field: str) -> None:
        for i, category in enumerate(options.categories):
            if column.enum_labels and category not in column.enum_labels:
                raise option_error(
                    field, f"categories[{i}]", f"{category!r} is not a label of {column.data_type}"
                )
            check_length_fits(column, field, f"categories[{i}]", len(category))

    def _transform(self, values: pa.Array) -> pa.Array:
        categories = pa.array(list(self.options.categories), pa.string())
        return pick(categories, self._hashes(values, 1)[:, 0])


class GenerateBusinessName(Transformer[t.GenerateBusinessName]):
    name = "generate_business_name"
    description = "Generates a business name such as Smith LLC, Smith-Jones or Smith and Sons."

    def _transform(self, values: pa.Array) -> pa.Array:
        h = self._hashes(values, 1)[:, 0]
        first = pick(dictionaries.last_names(), h)
        second = pick(dictionaries.last_names(), derive(h, 17))
        suffixed = pc.binary_join_element_wise(
            first, pick(dictionaries.company_suffixes(), derive(h, 18)), " "
        )
        paired = pc.binary_join_element_wise(first, second, "-")
        return pc.if_else(pa.array(below(derive(h, 19), 3) == 0), paired, suffixed)


class GenerateIpAddress(Transformer[t.GenerateIpAddress]):
    name = "generate_ip_address"
    description = "Generates an IPv4 address, or an IPv6 one with version IP_VERSION_V6."
    data_types = (TypeFamily.TEXT, TypeFamily.OTHER)

    @classmethod
    def check_options(cls, options: t.GenerateIpAddress, field: str) -> None:
        if options.version not in t.IpVersion.values():
            raise option_error(field, "version", f"unknown IP version {options.version}")

    def _transform(self, values: pa.Array) -> pa.Array:
        h = self._hashes(values, 2)
        if self.options.version == t.IP_VERSION_V6:
            groups = [
                (h[:, i // 4] >> np.uint64(48 - 16 * (i % 4))) & np.uint64(0xFFFF) for i in range(8)
            ]
            return pc.binary_join_element_wise(*[_hex(g) for g in groups], ":")
        # 1-223 first octet: no "this network", multicast or reserved addresses.
        octets = [1 + below(h[:, 0], 223)] + [below(derive(h[:, 0], 20 + i), 256) for i in range(3)]
        return pc.binary_join_element_wise(*[pa.array(o).cast(pa.string()) for o in octets], ".")


def _hex(words: U64) -> pa.Array:
    nibbles = np.stack([(words >> np.uint64(s)) & np.uint64(15) for s in (12, 8, 4, 0)], axis=1)
    chars = HEX_DIGITS[nibbles.astype(np.int64)].reshape(-1)
    return strings(chars, np.full(len(words), 4, dtype=np.int64))
