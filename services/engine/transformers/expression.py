"""The code transformer: a sandboxed expression (engine/sandbox.py) over each value and its row.

It is the one transformer that runs per value in Python, since a user's expression cannot be
vectorized; a batch that takes longer than BATCH_BUDGET_SECONDS fails rather than stalling a
run, which is what a runaway expression (or one far too slow for the table) looks like."""

import time
from typing import Any

import pyarrow as pa

from services.common.errors import DataRejectedError
from services.engine.schema import TypeFamily
from services.engine.transformers.base import Transformer, option_error
from services.engine.transformers.sandbox import (
    Expression,
    ExpressionError,
    compile_expression,
    namespace,
)
from veilsync.v1 import transformer_pb2 as t

BATCH_BUDGET_SECONDS = 30.0
_CHECK_EVERY = 256  # values between clock reads


class TransformExpression(Transformer[t.TransformExpression]):
    name = "transform_expression"
    description = (
        "Computes the value with a sandboxed expression over `value` and `row` (Python "
        "expression syntax, whitelisted functions, no imports, files or attributes); runs per "
        "value, so slower than the vectorized transformers."
    )
    data_types = tuple(TypeFamily)
    reads_row = True

    def __init__(self, options: t.TransformExpression, key: bytes, **kwargs: Any) -> None:
        super().__init__(options, key, **kwargs)
        self._expression = _compiled(options.code, "config.transform_expression")
        self._names = namespace(self._subkey)
        self._row: pa.RecordBatch | None = None

    @classmethod
    def check_options(cls, options: t.TransformExpression, field: str) -> None:
        _compiled(options.code, field)

    def transform_in(
        self, batch: pa.RecordBatch, values: pa.Array, max_length: int | None = None
    ) -> pa.Array:
        self._row = batch
        try:
            return self.transform(values, max_length)
        finally:
            self._row = None

    def transform(self, values: pa.Array, max_length: int | None = None) -> pa.Array:
        inputs = _texts(values)
        rows = self._row_values(len(inputs))
        names = dict(self._names)
        outputs: list[str | None] = []
        deadline = time.monotonic() + BATCH_BUDGET_SECONDS
        for i, value in enumerate(inputs):
            if value is None:
                # NULL stays NULL, as with every transformer: the contract the template keeps.
                outputs.append(None)
                continue
            if i % _CHECK_EVERY == 0 and time.monotonic() > deadline:
                raise DataRejectedError(
                    f"transform_expression: a batch took over {BATCH_BUDGET_SECONDS:.0f} s; "
                    "simplify the expression or use a built-in transformer"
                )
            names["value"] = value
            names["row"] = {name: column[i] for name, column in rows.items()}
            try:
                outputs.append(_as_text(self._expression.evaluate(names)))
            except ExpressionError as err:
                raise DataRejectedError(f"transform_expression: {err}") from None
        result = pa.array(outputs, pa.string())
        limit = max_length or self.bounds.max_length
        return self._fit(result, limit) if limit else result

    def _transform(self, values: pa.Array) -> pa.Array:
        return self.transform(values)

    def _row_values(self, length: int) -> dict[str, list[str | None]]:
        if self._row is None:
            return {}
        wanted = self._expression.row_columns
        return {
            name: _texts(column)
            for name, column in zip(self._row.schema.names, self._row.columns, strict=True)
            if wanted is None or name in wanted
        }


def _compiled(code: str, field: str) -> Expression:
    try:
        return compile_expression(code)
    except ExpressionError as err:
        raise option_error(field, "code", str(err)) from None


def _texts(values: pa.Array) -> list[str | None]:
    """The values as text, as every other transformer sees them."""
    try:
        texts: list[str | None] = values.cast(pa.string()).to_pylist()
        return texts
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return [None if v is None else str(v) for v in values.to_pylist()]


def _as_text(result: Any) -> str | None:
    if result is None:
        return None
    if isinstance(result, bool):
        return "true" if result else "false"
    return str(result)
