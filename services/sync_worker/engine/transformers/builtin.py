"""The built-in transformers."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from services.sync_worker.engine.schema import TypeFamily
from services.sync_worker.engine.transformers import dictionaries
from services.sync_worker.engine.transformers.base import Transformer, pick
from veilsync.v1 import transformer_pb2


class Passthrough(Transformer):
    name = "passthrough"
    description = "Copies the value unchanged."
    data_types = tuple(TypeFamily)

    def transform(self, values: pa.Array, max_length: int | None = None) -> pa.Array:
        return values

    def _transform(self, values: pa.Array) -> pa.Array:
        return values


class Null(Transformer):
    name = "null"
    description = "Writes NULL in place of every value; the column must be nullable."
    data_types = tuple(TypeFamily)
    writes_null = True

    def transform(self, values: pa.Array, max_length: int | None = None) -> pa.Array:
        return pa.nulls(len(values), pa.string())

    def _transform(self, values: pa.Array) -> pa.Array:
        return pa.nulls(len(values), pa.string())


class TransformHash(Transformer):
    name = "transform_hash"
    description = "Replaces the value with its keyed BLAKE2b-256 hash, hex encoded."
    options: transformer_pb2.TransformHash

    def _transform(self, values: pa.Array) -> pa.Array:
        hexes = self._hex_hashes(values)
        keep = self.options.length
        return pc.utf8_slice_codeunits(hexes, 0, keep) if 0 < keep < 64 else hexes


class TransformFirstName(Transformer):
    name = "transform_first_name"
    description = "Replaces a first name with a common first name; never returns the input."

    def _transform(self, values: pa.Array) -> pa.Array:
        return pick(dictionaries.first_names(), self._hashes(values, 1)[:, 0], values)


class TransformLastName(Transformer):
    name = "transform_last_name"
    description = "Replaces a last name with a common last name; never returns the input."

    def _transform(self, values: pa.Array) -> pa.Array:
        return pick(dictionaries.last_names(), self._hashes(values, 1)[:, 0], values)


class TransformEmail(Transformer):
    name = "transform_email"
    description = (
        "Replaces an email address with first.last.NNNNN at an example domain (RFC 2606), or "
        "at the original domain with preserve_domain."
    )
    options: transformer_pb2.TransformEmail

    def _transform(self, values: pa.Array) -> pa.Array:
        h = self._hashes(values, 2)
        number = pa.array((h[:, 1] >> np.uint64(8)) % np.uint64(100_000)).cast(pa.string())
        local = pc.binary_join_element_wise(
            pc.utf8_lower(pick(dictionaries.first_names(), h[:, 0])),
            pc.utf8_lower(pick(dictionaries.last_names(), h[:, 0] >> np.uint64(32))),
            pc.utf8_lpad(number, 5, "0"),
            ".",
        )
        domain = pick(dictionaries.safe_email_domains(), h[:, 1] & np.uint64(0xFF))
        if self.options.preserve_domain:
            original = pc.struct_field(pc.extract_regex(values, r"@(?P<domain>[^@]+)$"), [0])
            domain = pc.coalesce(original, domain)
        return pc.binary_join_element_wise(local, domain, "@")


class Mask(Transformer):
    name = "mask"
    description = "Keeps the first and last characters and masks the ones between."
    options: transformer_pb2.Mask

    def _transform(self, values: pa.Array) -> pa.Array:
        first, last = max(self.options.keep_first, 0), max(self.options.keep_last, 0)
        char = self.options.mask_char[:1] or "*"
        length = pc.utf8_length(values)
        # Keeping every character would leak the value: such values are masked whole.
        whole = pc.less_equal(length, first + last)
        middle = pc.if_else(whole, length, pc.subtract(length, first + last))
        masked = pc.binary_repeat(pa.scalar(char), middle)
        head = pc.if_else(whole, "", pc.utf8_slice_codeunits(values, 0, first))
        kept_tail = pc.utf8_slice_codeunits(values, -last if last else 0, None if last else 0)
        tail = pc.if_else(whole, "", kept_tail)
        return pc.binary_join_element_wise(head, masked, tail, "")


CATALOG: dict[str, type[Transformer]] = {
    cls.name: cls
    for cls in (
        Passthrough,
        Null,
        TransformHash,
        TransformEmail,
        TransformFirstName,
        TransformLastName,
        Mask,
    )
}
