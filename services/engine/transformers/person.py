"""Names, usernames and genders, drawn from Faker's name lists."""

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from services.engine.transformers import dictionaries
from services.engine.transformers.base import Transformer, pick
from services.engine.transformers.chars import cut
from services.engine.transformers.prf import U64, below, derive, digits
from veilsync.v1 import transformer_pb2 as t


def pick_same_length(table: dictionaries.ByLength, h: U64, values: pa.Array) -> pa.Array:
    """A word per row as long as its input and not equal to it (ignoring case). Lengths no
    word has are cut from longer words; inputs longer than any word, or equal to the only word
    of their length, are spelled from words run together."""
    words, starts, counts = table
    longest = len(counts) - 1
    lengths = pc.utf8_length(values).to_numpy(zero_copy_only=False).astype(np.int64)
    size = np.minimum(lengths, longest)
    count = np.where(counts[size] > 0, counts[size], len(words) - starts[size])
    offset = below(h, count)
    picked = cut(words.take(pa.array(starts[size] + offset)), lengths)
    same = pc.equal(pc.utf8_lower(picked), pc.utf8_lower(values)).to_numpy(zero_copy_only=False)
    if same.any():
        offset = np.where(same, (offset + 1) % count, offset)
        picked = cut(words.take(pa.array(starts[size] + offset)), lengths)
        same = pc.equal(pc.utf8_lower(picked), pc.utf8_lower(values))
        same = same.to_numpy(zero_copy_only=False)
    spell = (lengths > longest) | same
    if spell.any():
        picked = pc.if_else(pa.array(spell), spelled(words, h, lengths), picked)
    return picked


def spelled(words: pa.Array, h: U64, lengths: npt.NDArray[np.int64]) -> pa.Array:
    """Words run together ("Annajoneslee...") and cut to each row's length."""
    tail = pc.binary_join_element_wise(
        pc.utf8_lower(pick(words, derive(h, 1))), pc.utf8_lower(pick(words, derive(h, 2))), ""
    )
    # Every name has at least two letters, so a tail repeated this often is long enough.
    tail = pc.binary_repeat(tail, int(lengths.max()) // 4 + 1)
    return cut(pc.binary_join_element_wise(pick(words, derive(h, 3)), tail, ""), lengths)


class TransformFirstName(Transformer[t.TransformFirstName]):
    name = "transform_first_name"
    description = (
        "Replaces a first name with a common first name, of the same length with "
        "preserve_length; never returns the input."
    )

    def _transform(self, values: pa.Array) -> pa.Array:
        h = self._hashes(values, 1)[:, 0]
        if self.options.preserve_length:
            return pick_same_length(dictionaries.first_names_by_length(), h, values)
        return pick(dictionaries.first_names(), h, values)


class TransformLastName(Transformer[t.TransformLastName]):
    name = "transform_last_name"
    description = (
        "Replaces a last name with a common last name, of the same length with "
        "preserve_length; never returns the input."
    )

    def _transform(self, values: pa.Array) -> pa.Array:
        h = self._hashes(values, 1)[:, 0]
        if self.options.preserve_length:
            return pick_same_length(dictionaries.last_names_by_length(), h, values)
        return pick(dictionaries.last_names(), h, values)


def full_names(h: U64) -> pa.Array:
    return pc.binary_join_element_wise(
        pick(dictionaries.first_names(), h),
        pick(dictionaries.last_names(), derive(h, 0)),
        " ",
    )


class TransformFullName(Transformer[t.TransformFullName]):
    name = "transform_full_name"
    description = "Replaces a full name with a common first name and last name."

    def _transform(self, values: pa.Array) -> pa.Array:
        return full_names(self._hashes(values, 1)[:, 0])


class GenerateFirstName(Transformer[t.GenerateFirstName]):
    name = "generate_first_name"
    description = "Generates a common first name."

    def _transform(self, values: pa.Array) -> pa.Array:
        return pick(dictionaries.first_names(), self._hashes(values, 1)[:, 0])


class GenerateLastName(Transformer[t.GenerateLastName]):
    name = "generate_last_name"
    description = "Generates a common last name."

    def _transform(self, values: pa.Array) -> pa.Array:
        return pick(dictionaries.last_names(), self._hashes(values, 1)[:, 0])


class GenerateFullName(Transformer[t.GenerateFullName]):
    name = "generate_full_name"
    description = "Generates a common first and last name."

    def _transform(self, values: pa.Array) -> pa.Array:
        return full_names(self._hashes(values, 1)[:, 0])


class GenerateUsername(Transformer[t.GenerateUsername]):
    name = "generate_username"
    description = "Generates a username: an initial, a last name and two digits (jsmith42)."

    def _transform(self, values: pa.Array) -> pa.Array:
        h = self._hashes(values, 1)[:, 0]
        initial = pc.utf8_slice_codeunits(pick(dictionaries.first_names(), h), 0, 1)
        last = pick(dictionaries.last_names(), derive(h, 0))
        return pc.utf8_lower(pc.binary_join_element_wise(initial, last, digits(h, 2, 1), ""))


class GenerateGender(Transformer[t.GenerateGender]):
    name = "generate_gender"
    description = "Generates female, male, non-binary or unknown (f, m, n, u with abbreviate)."

    def _transform(self, values: pa.Array) -> pa.Array:
        genders = pick(dictionaries.genders(), self._hashes(values, 1)[:, 0])
        return pc.utf8_slice_codeunits(genders, 0, 1) if self.options.abbreviate else genders
