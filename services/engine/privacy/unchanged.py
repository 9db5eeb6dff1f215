"""Values a transformer wrote exactly as it read them, counted per column while copying: one
vectorized comparison per transformed column batch, counts only.

Values are compared as the destination will hold them, not as text alone: a source's boolean
reads "t" where a transformer writes "true", and a number "1.50" where it writes "1.5", the same
value either way."""

from collections.abc import Iterable, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from services.engine.schema import TypeFamily
from veilsync.temporal.v1 import sync_pb2

_TRUE = pa.array(["t", "true", "1", "y", "yes", "on"])
_CASTS: dict[str, pa.DataType] = {TypeFamily.INTEGER: pa.int64(), TypeFamily.NUMERIC: pa.float64()}


class UnchangedCounter:
    """Per column, (unchanged, compared); starts from a resumed checkpoint's counts. `families`
    holds the columns' type families (ColumnPlan.family); a column without one is text."""

    def __init__(
        self,
        start: Iterable[sync_pb2.ColumnUnchanged] = (),
        families: Mapping[str, str] | None = None,
    ) -> None:
        self._counts = {c.column: [c.unchanged, c.compared] for c in start}
        self._families = dict(families or {})

    def count(self, column: str, before: pa.Array, after: pa.Array) -> None:
        """Compares one batch of a column's inputs with its outputs; a row with a NULL on
        either side is not compared."""
        family = self._families.get(column, "")
        try:
            same = pc.equal(_comparable(before, family), _comparable(after, family))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return  # a type with no text form: nothing a transformer could have kept either
        counts = self._counts.setdefault(column, [0, 0])
        counts[0] += pc.sum(same).as_py() or 0
        counts[1] += len(same) - same.null_count

    def counts(self) -> list[sync_pb2.ColumnUnchanged]:
        return [
            sync_pb2.ColumnUnchanged(column=name, unchanged=unchanged, compared=compared)
            for name, (unchanged, compared) in self._counts.items()
        ]


def _comparable(values: pa.Array, family: str) -> pa.Array:
    """The values in the form equality means for their family; text when they do not parse
    as it (a transformer may write what the destination would refuse)."""
    text = values if values.type == pa.string() else values.cast(pa.string())
    if family == TypeFamily.BOOLEAN:
        truth = pc.is_in(pc.utf8_lower(pc.utf8_trim_whitespace(text)), value_set=_TRUE)
        return pc.if_else(pc.is_valid(text), truth, pa.scalar(None, pa.bool_()))
    if family == TypeFamily.UUID:
        return pc.utf8_lower(text)
    cast = _CASTS.get(family)
    if cast is not None:
        try:
            return pc.cast(pc.utf8_trim_whitespace(text), cast)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return text
    return text
