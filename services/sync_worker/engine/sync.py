"""Copying one table: read batches, transform whole columns, write every destination."""

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

import pyarrow as pa

from services.sync_worker.engine.connectors.base import Database
from services.sync_worker.engine.prefetch import prefetch
from services.sync_worker.engine.transformers import Transformer, build_transformer
from veilsync.temporal.v1 import sync_pb2

ProgressCallback = Callable[[int, int], None]  # (rows read, rows written) so far

REPORT_EVERY_SECONDS = 1.0


@dataclass(frozen=True)
class Destination:
    database: Database
    plan: sync_pb2.DestinationPlan


def _transformers(table: sync_pb2.TablePlan, key: bytes) -> dict[str, Transformer]:
    return {
        c.name: build_transformer(c.transformer, key, f"{table.name}.{c.name}")
        for c in table.columns
        if c.HasField("transformer") and c.transformer.WhichOneof("config") != "passthrough"
    }


def transform_batch(
    batch: pa.RecordBatch,
    table: sync_pb2.TablePlan,
    transformers: dict[str, Transformer],
    null_columns: Sequence[str] = (),
) -> pa.RecordBatch:
    """The batch with transformed columns replaced; `null_columns` written as NULL."""
    limits = {c.name: c.max_length for c in table.columns}
    arrays = []
    for name, array in zip(batch.schema.names, batch.columns, strict=True):
        if name in null_columns:
            array = pa.nulls(len(array), array.type)
        elif name in transformers:
            array = transformers[name].transform(array, limits.get(name) or None)
        arrays.append(array)
    return pa.record_batch(arrays, names=batch.schema.names)


def copy_table(
    source: Database,
    destinations: Sequence[Destination],
    table: sync_pb2.TablePlan,
    key: bytes,
    report: ProgressCallback,
) -> tuple[int, int]:
    """Copy every row of `table` to each destination in one transaction per destination,
    deferred columns as NULL. Returns (rows read, rows written over all destinations)."""
    columns = [c.name for c in table.columns if not c.generated]
    transformers = _transformers(table, key)
    read = written = 0
    last_report = time.monotonic()
    with ExitStack() as stack:
        writers = []
        for destination in destinations:
            schema, name = destination.database.target_name(table.schema, table.name)
            writers.append(
                stack.enter_context(
                    destination.database.table_writer(
                        schema, name, columns, table.primary_key, destination.plan.on_conflict
                    )
                )
            )
        for batch in prefetch(source.read(table.schema, table.name, columns)):
            out = transform_batch(batch, table, transformers, table.deferred_columns)
            read += batch.num_rows
            written += sum(writer.write(out) for writer in writers)
            if time.monotonic() - last_report >= REPORT_EVERY_SECONDS:
                report(read, written)
                last_report = time.monotonic()
    report(read, written)
    return read, written


def fill_deferred_columns(
    source: Database, destinations: Sequence[Destination], table: sync_pb2.TablePlan, key: bytes
) -> int:
    """Write the deferred foreign-key columns of rows already copied, matched on the
    (transformed) primary key. Returns rows updated over all destinations."""
    columns = [*table.primary_key, *table.deferred_columns]
    transformers = {name: t for name, t in _transformers(table, key).items() if name in columns}
    updated = 0
    for destination in destinations:
        schema, name = destination.database.target_name(table.schema, table.name)
        batches: Iterator[pa.RecordBatch] = (
            transform_batch(batch, table, transformers)
            for batch in source.read(table.schema, table.name, columns)
        )
        updated += destination.database.fill_columns(
            schema, name, table.primary_key, table.deferred_columns, batches
        )
    return updated
