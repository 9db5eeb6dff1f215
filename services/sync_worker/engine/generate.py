"""Filling one table with generated rows: ordinals in bounded batches, whole columns made at
once, written through each destination's bulk writer (COPY on PostgreSQL)."""

import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack

import numpy as np
import pyarrow as pa

from services.sync_worker.engine.connectors.base import TableWriter
from services.sync_worker.engine.generate_values import ColumnValues
from services.sync_worker.engine.prefetch import prefetch
from services.sync_worker.engine.sync import (
    CHUNK_ROWS,
    REPORT_EVERY_SECONDS,
    CheckpointCallback,
    CopyResult,
    Destination,
)
from veilsync.temporal.v1 import generate_pb2, sync_pb2
from veilsync.v1 import job_pb2

BATCH_ROWS = 50_000
_FAIL_ON_CONFLICT = (job_pb2.ON_CONFLICT_UNSPECIFIED, job_pb2.ON_CONFLICT_ERROR)


def generated_batches(
    generation: generate_pb2.TableGeneration,
    names: Sequence[str],
    key: bytes,
    after: int = 0,
    null_columns: Sequence[str] = (),
    batch_rows: int = BATCH_ROWS,
) -> Iterator[pa.RecordBatch]:
    """Rows after ordinal `after` up to the table's count, columns `names`, `null_columns` NULL."""
    by_name = {c.name: c for c in generation.columns}
    makers = {
        n: ColumnValues(by_name[n], key, generation.table) for n in names if n not in null_columns
    }
    for first in range(after + 1, generation.rows + 1, batch_rows):
        ordinals = np.arange(first, min(first + batch_rows, generation.rows + 1), dtype=np.int64)
        arrays = [
            pa.nulls(len(ordinals), pa.string())
            if n in null_columns
            else makers[n].values(ordinals)
            for n in names
        ]
        yield pa.record_batch(arrays, names=list(names))


def generate_table(
    destinations: Sequence[Destination],
    table: sync_pb2.TablePlan,
    generation: generate_pb2.TableGeneration,
    key: bytes,
    report: CheckpointCallback,
    resume: sync_pb2.TableCheckpoint | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> CopyResult:
    """Write rows 1..N of the table to each destination, deferred columns NULL. A keyed table
    commits every `chunk_rows` rows and reports the last ordinal as its checkpoint; a retry
    given `resume` goes on after it, skipping rows of the chunk in flight that did commit."""
    names = [c.name for c in generation.columns]
    keyed = bool(table.primary_key)
    checkpoint = sync_pb2.TableCheckpoint()
    if resume is not None and resume.last_key:
        checkpoint.CopyFrom(resume)
    after = int(checkpoint.last_key[0]) if checkpoint.last_key else 0
    resumed = checkpoint.rows_read
    made, written, since_commit = checkpoint.rows_read, checkpoint.rows_written, 0
    last_report = time.monotonic()
    with ExitStack() as stack:
        writers: list[TableWriter] = []
        for destination in destinations:
            on_conflict = destination.plan.on_conflict
            if after and on_conflict in _FAIL_ON_CONFLICT:
                on_conflict = job_pb2.ON_CONFLICT_NOTHING
            schema, name = destination.target(table.schema, table.name)
            opened = destination.database.table_writer(
                schema, name, names, list(table.primary_key), on_conflict
            )
            writers.append(stack.enter_context(opened))
        batches = generated_batches(
            generation, names, key, after, table.deferred_columns, min(BATCH_ROWS, chunk_rows)
        )
        for batch in prefetch(batches):
            made += batch.num_rows
            written += sum(writer.write(batch) for writer in writers)
            since_commit += batch.num_rows
            if keyed and since_commit >= chunk_rows:
                for writer in writers:
                    writer.commit()
                since_commit = 0
                checkpoint = sync_pb2.TableCheckpoint(
                    last_key=[str(made)], rows_read=made, rows_written=written
                )
                report(checkpoint, made, written)
                last_report = time.monotonic()
            elif time.monotonic() - last_report >= REPORT_EVERY_SECONDS:
                report(checkpoint, made, written)
                last_report = time.monotonic()
    report(checkpoint, made, written)
    return CopyResult(made, written, resumed)


def fill_generated_references(
    destinations: Sequence[Destination],
    table: sync_pb2.TablePlan,
    generation: generate_pb2.TableGeneration,
    key: bytes,
) -> int:
    """Write the deferred foreign-key columns of rows already generated, matched on the primary
    key (generated again: the same ordinals give the same keys). Returns rows updated."""
    names = [*table.primary_key, *table.deferred_columns]
    updated = 0
    for destination in destinations:
        schema, name = destination.target(table.schema, table.name)
        updated += destination.database.fill_columns(
            schema,
            name,
            table.primary_key,
            table.deferred_columns,
            generated_batches(generation, names, key),
        )
    return updated
