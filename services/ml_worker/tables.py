"""Rows in and out of databases for models: the sync engine's connectors read text columns,
typed here from the schema; samples are written back through the engine's COPY writers."""

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa

from services.common.errors import FailedPreconditionError, InvalidArgumentError
from services.engine.connectors.base import Database, ReadRequest, WriteRequest
from services.engine.schema import Column, Table, TypeFamily
from services.engine.transformers.bounds import ColumnBounds
from services.ml_worker.spec import MAX_KEY_VALUES, Role, TableSpec, build_spec
from veilsync.v1 import job_pb2, transformer_pb2

_TRUE = {"t", "true", "1", "yes", "y", "on"}
PII_SAMPLE_ROWS = 200  # as many rows as `jobs suggest` samples by default
_INT64 = (-(2**63), 2**63 - 1)
# The whole numbers an int64 holds that a float64 spells exactly: 2**63 - 1 is not one.
_FLOAT_INT64 = (-(2**63), 2**63 - 1024)


def resolve_table(database: Database, schema: str, table: str) -> Table:
    found = database.introspect().resolve(f"{schema}.{table}" if schema else table)
    if found is None:
        raise InvalidArgumentError("table", f'table "{schema}.{table}" not found')
    return found


def read_frame(database: Database, table: Table, max_rows: int) -> pd.DataFrame:
    """Up to max_rows rows, typed from the schema; an empty table is a permanent error."""
    names = [c.name for c in table.columns if not c.generated]
    batches: list[pa.RecordBatch] = []
    rows = 0
    for batch in database.read(ReadRequest(table.schema, table.name, names)):
        batches.append(batch.slice(0, max_rows - rows))
        rows += batches[-1].num_rows
        if rows >= max_rows:
            break
    if rows == 0:
        raise FailedPreconditionError(f"table {table.qualified} has no rows to train on")
    frame = pa.Table.from_batches(batches).to_pandas()
    return typed(frame, table)


def typed(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    out = {}
    for name in frame.columns:
        column = table.column(name)
        values = frame[name]
        family = column.family if column is not None else TypeFamily.TEXT
        if family in (TypeFamily.INTEGER, TypeFamily.NUMERIC):
            numbers = pd.to_numeric(values, errors="coerce")
            out[name] = numbers.astype("Int64") if family == TypeFamily.INTEGER else numbers
        elif family == TypeFamily.BOOLEAN:
            out[name] = _flags(values)
        elif family == TypeFamily.TEMPORAL:
            stamps = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
            out[name] = stamps.dt.tz_localize(None)
        else:
            out[name] = values.astype("object")
    return pd.DataFrame(out)


def parent_keys(
    database: Database, schema: str, table: str, columns: list[str], limit: int
) -> list[tuple[Any, ...]]:
    """Up to `limit` distinct rows of the referenced columns, as the destination holds them."""
    target_schema, target_table = database.target_name(schema, table)
    found = resolve_table(database, target_schema, target_table)
    seen: dict[tuple[Any, ...], None] = {}
    for batch in database.read(ReadRequest(found.schema, found.name, columns)):
        for row in zip(*(batch.column(c).to_pylist() for c in columns), strict=True):
            if None not in row:
                seen.setdefault(row)
                if len(seen) >= limit:
                    return list(seen)
    return list(seen)


def arrow_batches(frames: Iterator[pd.DataFrame], table: Table) -> Iterator[pa.RecordBatch]:
    """Frames as Arrow batches with the destination's columns, types from its schema."""
    for frame in frames:
        arrays, names = [], []
        for column in table.columns:
            if column.generated or column.name not in frame.columns:
                continue
            arrays.append(_arrow_column(frame[column.name], column))
            names.append(column.name)
        yield pa.RecordBatch.from_arrays(arrays, names=names)


def write_frames(
    database: Database, table: Table, frames: Iterator[pd.DataFrame], key: list[str]
) -> int:
    """Append the frames' rows; rows whose key exists already (an earlier attempt's) are kept."""
    written = 0
    batches = arrow_batches(frames, table)
    first = next(batches, None)
    if first is None:
        return 0
    on_conflict = job_pb2.ON_CONFLICT_NOTHING if key else job_pb2.ON_CONFLICT_ERROR
    with database.table_writer(
        WriteRequest(table.schema, table.name, first.schema.names, key, on_conflict)
    ) as writer:
        written += writer.write(first)
        for batch in batches:
            written += writer.write(batch)
    return written


def whole_numbers(values: pd.Series, bounds: tuple[int, int] = _INT64) -> pd.Series:
    """A model's numbers for an integer column: rounded, clipped to `bounds`, nullable Int64
    (a learned column comes out of most models as floats)."""
    numbers = pd.to_numeric(values, errors="coerce", dtype_backend="numpy_nullable")
    if pd.api.types.is_integer_dtype(numbers):  # kept exact: a float would round big keys
        return numbers.clip(*_within(bounds, _INT64)).astype("Int64")
    # float64 spells every missing value NaN, which clips to NaN and converts to NA.
    low, high = _within(bounds, _FLOAT_INT64)
    return numbers.astype("float64").round().clip(low, high).astype("Int64")


def _within(bounds: tuple[int, int], outer: tuple[int, int]) -> tuple[int, int]:
    return max(bounds[0], outer[0]), min(bounds[1], outer[1])


def _arrow_column(values: pd.Series, column: Column) -> pa.Array:
    family = column.family
    if family == TypeFamily.INTEGER:
        bounds = ColumnBounds.of(column.data_type).integer_range() or _INT64
        return pa.array(whole_numbers(values, bounds))
    if family == TypeFamily.NUMERIC:
        return pa.array(pd.to_numeric(values, errors="coerce").astype("float64"))
    if family == TypeFamily.BOOLEAN:
        return pa.array(values.astype("boolean"))
    if family == TypeFamily.TEMPORAL:
        return pa.array(pd.to_datetime(values, errors="coerce"))
    return pa.array(_text(values), pa.string())


def _flags(values: pd.Series) -> pd.Series:
    """Words in _TRUE (any case) are true, other values false and only None missing: NaN,
    NaT and pd.NA spell "nan", "nat" and "<na>", so they read false."""
    boxed = _boxed(values)
    # Spelled first, so True and 1 stay apart; then each distinct word is lowered once.
    codes, words = pd.factorize(boxed.astype(str), use_na_sentinel=False)
    truth = pd.Index(words).str.lower().isin(_TRUE)
    flags = pd.Series(truth[codes], index=values.index, dtype="boolean")
    return flags.mask(boxed.isin([None]))


def _text(values: pd.Series) -> pd.Series:
    """Each value as str() spells it, missing values (pd.isna) as None."""
    boxed = _boxed(values)
    return boxed.astype(str).where(boxed.notna(), None)


def _boxed(values: pd.Series) -> pd.Series:
    """The values as Python objects, one by one: timestamps are spelled each on its own, not
    in the column's common format, and extension arrays go through to_numpy first."""
    return pd.Series(values.to_numpy(), index=values.index).astype(object)


def spec_for_frame(
    table: Table, frame: pd.DataFrame, transformers: dict[str, transformer_pb2.TransformerConfig]
) -> TableSpec:
    """The table's spec for the rows read: distinct counts where they decide a role (text:
    category or free text), and the foreign-key values children are drawn from."""
    distinct = {
        c.name: int(frame[c.name].nunique())
        for c in table.columns
        if c.family is TypeFamily.TEXT and c.name in frame
    }
    samples = {name: _sample(frame[name]) for name in distinct}
    spec = build_spec(table, distinct, len(frame), transformers, samples)
    key_values = {
        c.name: [plain(v) for v in frame[c.name].dropna().unique()[:MAX_KEY_VALUES]]
        for c in spec.columns
        if c.role is Role.FOREIGN_KEY
    }
    return TableSpec(spec.schema, spec.table, spec.columns, key_values)


def _sample(values: pd.Series) -> pa.Array | None:
    """The first rows of a text column for the PII detector; None where Arrow reads no text."""
    try:
        return pa.array(values.head(PII_SAMPLE_ROWS), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None


def plain(value: Any) -> Any:
    """A Python value for JSON and protobuf: no numpy or pandas scalars, no NaN."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value
