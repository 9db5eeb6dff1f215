"""What a destination column accepts beyond its type family, read from its type's spelling so
that every engine's catalog (and every ColumnPlan) can supply it."""

import re
from dataclasses import dataclass

# Integer type names by width in bits; SQLite's "INTEGER" is read as PostgreSQL's 32-bit one,
# which only ever narrows what generators produce.
_INTEGER_BITS = {
    "smallint": 16,
    "int2": 16,
    "smallserial": 16,
    "integer": 32,
    "int": 32,
    "int4": 32,
    "serial": 32,
    "bigint": 64,
    "int8": 64,
    "bigserial": 64,
}
_NUMERIC = re.compile(r"^(?:numeric|decimal)\s*\(\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?\)")


@dataclass(frozen=True)
class ColumnBounds:
    """Limits outputs must respect; None where the column sets none."""

    max_length: int | None = None
    # Integer columns: the type's width in bits.
    integer_bits: int | None = None
    # numeric(precision, scale) columns.
    precision: int | None = None
    scale: int | None = None

    @classmethod
    def of(cls, data_type: str, max_length: int | None = None) -> "ColumnBounds":
        spelled = data_type.strip().lower()
        numeric = _NUMERIC.match(spelled)
        return cls(
            max_length=max_length or None,
            integer_bits=_INTEGER_BITS.get(spelled),
            precision=int(numeric.group(1)) if numeric else None,
            scale=int(numeric.group(2) or 0) if numeric else None,
        )

    def integer_range(self) -> tuple[int, int] | None:
        """The inclusive range of whole numbers the column holds, if bounded."""
        if self.integer_bits:
            top = 2 ** (self.integer_bits - 1)
            return -top, top - 1
        if self.precision is not None:
            top = 10 ** (self.precision - (self.scale or 0)) - 1
            return -top, top
        return None
