"""Filling one table with generated rows: ordinals in bounded batches, whole columns made at
once, written through each destination's bulk writer (COPY on PostgreSQL)."""

from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa

from services.engine.connectors.base import FillRequest
from services.engine.copy.prefetch import prefetch
from services.engine.copy.table_copy import (
    CHUNK_ROWS,
    CheckpointCallback,
    CopyResult,
    Destination,
    resumed_from,
    write_table,
)
from services.engine.generate.values import ColumnValues
from veilsync.temporal.v1 import generate_pb2, sync_pb2

BATCH_ROWS = 50_000


def generated_batches(
    generation: generate_pb2.TableGeneration,
    names: Sequence[str],
    key: bytes,
    after: int = 0,
    null_columns: Sequence[str] = (),
    batch_rows: int = BATCH_ROWS,
    run_key: bytes | None = None,
) -> Iterator[pa.RecordBatch]:
    """Rows after ordinal `after` up to the table's count, columns `names`, `null_columns` NULL;
    `random: true` generators keyed by `run_key`, the run's."""
    by_name = {c.name: c for c in generation.columns}
    makers = {
        n: ColumnValues(by_name[n], key, generation.table, run_key)
        for n in names
        if n not in null_columns
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
    run_key: bytes | None = None,
) -> CopyResult:
    """Write rows 1..N of the table to each destination, deferred columns NULL. A keyed table
    commits every `chunk_rows` rows and reports the last ordinal as its checkpoint; a retry
    given `resume` goes on after it, skipping rows of the chunk in flight that did commit. The
    writing is a copy's (write_table), rows a destination skips included."""
    names = [c.name for c in generation.columns]
    checkpoint = resumed_from(resume)
    after = int(checkpoint.last_key[0]) if checkpoint.last_key else 0
    batches = generated_batches(
        generation,
        names,
        key,
        after,
        table.deferred_columns,
        min(BATCH_ROWS, chunk_rows),
        run_key,
    )
    return write_table(
        destinations,
        table,
        names,
        prefetch(batches),
        report,
        checkpoint=checkpoint,
        merging=bool(after),
        chunk_rows=chunk_rows,
        position=lambda _, made: [str(made)],
    )


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
            FillRequest(schema, name, table.primary_key, table.deferred_columns),
            generated_batches(generation, names, key),
        )
    return updated
