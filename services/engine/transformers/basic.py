"""Transformers that keep, drop or mask a value, and the default-value marker."""

import pyarrow as pa
import pyarrow.compute as pc

from services.common.errors import InvalidArgumentError
from services.engine.schema import Column, TypeFamily
from services.engine.transformers.base import Transformer, option_error
from veilsync.v1 import transformer_pb2 as t


class Passthrough(Transformer[t.Passthrough]):
    name = "passthrough"
    keyed = False
    description = "Copies the value unchanged."
    data_types = tuple(TypeFamily)

    def transform(self, values: pa.Array, max_length: int | None = None) -> pa.Array:
        return values

    def _transform(self, values: pa.Array) -> pa.Array:
        return values


class Null(Transformer[t.Null]):
    name = "null"
    keyed = False
    description = "Writes NULL in place of every value; the column must be nullable."
    data_types = tuple(TypeFamily)
    writes_null = True

    def transform(self, values: pa.Array, max_length: int | None = None) -> pa.Array:
        return pa.nulls(len(values), pa.string())

    def _transform(self, values: pa.Array) -> pa.Array:
        return pa.nulls(len(values), pa.string())


class GenerateDefault(Transformer[t.GenerateDefault]):
    """The writer leaves columns whose transformer has `omits_column` out of its column list
    (COPY and INSERT alike), so the destination computes the DEFAULT or identity value. The
    NULLs `transform` returns stand in for the column until then and are never written."""

    name = "generate_default"
    keyed = False
    description = (
        "Leaves the column out of the rows written so the destination fills in its DEFAULT; the "
        "column must have a default, an identity or accept NULL."
    )
    data_types = tuple(TypeFamily)
    omits_column = True

    @classmethod
    def check_column(cls, options: t.GenerateDefault, column: Column, field: str) -> None:
        if column.default is None and column.identity is None and not column.nullable:
            raise InvalidArgumentError(
                field, f"{column.name} has no default, no identity and is NOT NULL"
            )

    def transform(self, values: pa.Array, max_length: int | None = None) -> pa.Array:
        return pa.nulls(len(values), pa.string())

    def _transform(self, values: pa.Array) -> pa.Array:
        return pa.nulls(len(values), pa.string())


class Mask(Transformer[t.Mask]):
    name = "mask"
    keyed = False
    description = "Keeps the first and last characters and masks the ones between."

    @classmethod
    def check_options(cls, options: t.Mask, field: str) -> None:
        for option in ("keep_first", "keep_last"):
            if getattr(options, option) < 0:
                raise option_error(field, option, "must not be negative")
        if len(options.mask_char) > 1:
            raise option_error(field, "mask_char", "must be one character")

    def _transform(self, values: pa.Array) -> pa.Array:
        first, last = self.options.keep_first, self.options.keep_last
        char = self.options.mask_char or "*"
        length = pc.utf8_length(values)
        # Keeping every character would leak the value: such values are masked whole.
        whole = pc.less_equal(length, first + last)
        middle = pc.if_else(whole, length, pc.subtract(length, first + last))
        masked = pc.binary_repeat(pa.scalar(char), middle)
        head = pc.if_else(whole, "", pc.utf8_slice_codeunits(values, 0, first))
        kept_tail = pc.utf8_slice_codeunits(values, -last if last else 0, None if last else 0)
        tail = pc.if_else(whole, "", kept_tail)
        return pc.binary_join_element_wise(head, masked, tail, "")
