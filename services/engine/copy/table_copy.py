"""Copying one table: read batches, transform whole columns, write every destination."""

import functools
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, closing, contextmanager
from dataclasses import dataclass

import pyarrow as pa

from services.engine.connectors.base import (
    ConnectionSharing,
    CopyStream,
    CopyStreamWriter,
    Database,
    FillRequest,
    ReadRequest,
    Reference,
    TableWriter,
    WireColumns,
    WireCopy,
    WriteRequest,
)
from services.engine.copy.prefetch import prefetch
from services.engine.copy.wire import wire_columns
from services.engine.privacy.unchanged import UnchangedCounter
from services.engine.transformers import Transformer, build_transformer
from services.engine.transformers.bounds import ColumnBounds
from veilsync.temporal.v1 import ml_pb2, sync_pb2
from veilsync.v1 import job_pb2

# (last committed checkpoint, rows read so far, rows written so far)
CheckpointCallback = Callable[[sync_pb2.TableCheckpoint, int, int], None]

REPORT_EVERY_SECONDS = 1.0
CHUNK_ROWS = 100_000  # rows per destination transaction of a keyed table
_FAIL_ON_CONFLICT = (job_pb2.ON_CONFLICT_UNSPECIFIED, job_pb2.ON_CONFLICT_ERROR)


@dataclass(frozen=True)
class Destination:
    database: Database
    plan: sync_pb2.DestinationPlan

    def target(self, schema: str, table: str) -> tuple[str, str]:
        """Where a source table lands: the job's remapping, then the engine's own naming."""
        renamed = self.plan.table_map.get(f"{schema}.{table}")
        if renamed:
            schema, table = renamed.split(".", 1)
        else:
            schema = self.plan.schema_map.get(schema, schema)
        return self.database.target_name(schema, table)


@contextmanager
def sharing_connections(databases: Sequence[Database]) -> Iterator[None]:
    """Within the block, steps on each database that can share a connection share one: a
    step per table pays for one connection per database, not one per table."""
    with ExitStack() as stack:
        for database in databases:
            if isinstance(database, ConnectionSharing):
                stack.enter_context(database.sharing_connection())
        yield


def _transformers(
    table: sync_pb2.TablePlan, key: bytes, run_key: bytes | None
) -> dict[str, Transformer]:
    return {
        c.name: build_transformer(
            c.transformer,
            key,
            f"{table.name}.{c.name}",
            run_key=run_key,
            bounds=ColumnBounds.of(c.data_type, c.max_length or None),
        )
        for c in table.columns
        if c.HasField("transformer") and c.transformer.WhichOneof("config") != "passthrough"
    }


def _written_columns(table: sync_pb2.TablePlan, transformers: dict[str, Transformer]) -> list[str]:
    """Columns the destination is given: not generated ones, nor those left to its default."""
    return [
        c.name
        for c in table.columns
        if not c.generated and not (c.name in transformers and transformers[c.name].omits_column)
    ]


def transform_batch(
    batch: pa.RecordBatch,
    table: sync_pb2.TablePlan,
    transformers: dict[str, Transformer],
    null_columns: Sequence[str] = (),
    counter: UnchangedCounter | None = None,
) -> pa.RecordBatch:
    """The batch with transformed columns replaced; `null_columns` written as NULL. A
    `counter` counts the values each transformer wrote unchanged."""
    limits = {c.name: c.max_length for c in table.columns}
    arrays = []
    for name, array in zip(batch.schema.names, batch.columns, strict=True):
        if name in null_columns:
            array = pa.nulls(len(array), array.type)
        elif name in transformers:
            transformed = transformers[name].transform_in(batch, array, limits.get(name) or None)
            if counter is not None and not transformers[name].omits_column:
                counter.count(name, array, transformed)
            array = transformed
        arrays.append(array)
    return pa.record_batch(arrays, names=batch.schema.names)


@dataclass(frozen=True)
class CopyResult:
    rows_read: int  # over every attempt, the resumed rows included
    rows_written: int
    rows_resumed: int  # committed by earlier attempts, not copied again by this one
    rows_skipped: int = 0  # left out because a reference would dangle (per destination)
    # Per transformed column, values written unchanged, over every attempt's rows.
    unchanged: tuple[sync_pb2.ColumnUnchanged, ...] = ()


def resumed_from(resume: sync_pb2.TableCheckpoint | None) -> sync_pb2.TableCheckpoint:
    """The checkpoint a copy goes on from: `resume` when it holds a position, else none."""
    checkpoint = sync_pb2.TableCheckpoint()
    if resume is not None and resume.last_key:
        checkpoint.CopyFrom(resume)
    return checkpoint


def _key_text(
    batch: pa.RecordBatch, key: Sequence[str], source: Database, wire: WireColumns | None
) -> list[str]:
    """The last row's key values in text form: how the source reads them back as literals.
    A key column travelling as bytes (`wire`) is decoded by the source."""
    texts = []
    for name in key:
        value = batch.column(name)[-1].as_py()
        if isinstance(value, bytes) and isinstance(source, WireCopy) and wire is not None:
            value = source.wire_text(wire.types[batch.schema.get_field_index(name)], value)
        texts.append(str(value))
    return texts


def _references(destination: Destination, table: sync_pb2.TablePlan) -> list[Reference]:
    """The table's references in the destination's names, when the destination skips rows
    that would dangle; none otherwise (the destination's own constraints decide)."""
    if not destination.plan.skip_foreign_key_violations:
        return []
    return [destination_reference(destination, ref) for ref in table.references]


def destination_reference(destination: Destination, ref: ml_pb2.ForeignKeyReference) -> Reference:
    """A foreign key of the plan as the destination names it."""
    return Reference(
        tuple(ref.columns),
        destination.target(ref.referenced_schema, ref.referenced_table),
        tuple(ref.referenced_columns),
    )


def _split(batches: Iterator[pa.RecordBatch], chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """The same rows, cut so that every multiple of `chunk_rows` ends a batch (0: uncut)."""
    room = chunk_rows
    for batch in batches:
        while chunk_rows and batch.num_rows > room:
            yield batch.slice(0, room)
            batch, room = batch.slice(room), chunk_rows
        if batch.num_rows:
            yield batch
            room -= batch.num_rows
        if room == 0:
            room = chunk_rows


def _pipe(
    source: Database,
    writers: Sequence[TableWriter],
    table: sync_pb2.TablePlan,
    columns: Sequence[str],
) -> int | None:
    """Copy a table with nothing to transform as the source's own bulk-export bytes, never
    parsed; returns the rows copied, or None when source and writers cannot do that."""
    if not isinstance(source, CopyStream) or not all(
        isinstance(w, CopyStreamWriter) and w.copy_format == source.copy_format for w in writers
    ):
        return None
    pipes = [writer for writer in writers if isinstance(writer, CopyStreamWriter)]
    request = ReadRequest(table.schema, table.name, columns, where=table.where)
    for chunk in source.read_copy(request):
        for pipe in pipes:
            pipe.write_copy(chunk)
    for pipe in pipes:
        pipe.commit()
    return pipes[0].rows_written() if pipes else 0


def copy_table(
    source: Database,
    destinations: Sequence[Destination],
    table: sync_pb2.TablePlan,
    key: bytes,
    report: CheckpointCallback,
    resume: sync_pb2.TableCheckpoint | None = None,
    chunk_rows: int = CHUNK_ROWS,
    retrying: bool = False,
    part: sync_pb2.KeyRange | None = None,
    run_key: bytes | None = None,
    count_unchanged: bool = True,
    binary_copy: bool = True,
) -> CopyResult:
    """Copy every row of `table` (of its key range `part`, when given) to each destination,
    deferred columns as NULL.

    A table with a primary key is read in key order and committed every `chunk_rows` rows;
    each commit is reported as a checkpoint, and a copy given `resume` starts after it. Rows
    of the chunk in flight when an attempt died may already be committed, so a resumed copy
    (or any `retrying` one) skips rows whose key exists. A table without a key is one
    transaction: a retry redoes it. `random: true` transformers use `run_key`, the run's key
    (random_keys.py), so they map alike in every table, range and attempt of the run. With
    `count_unchanged`, the values each transformer wrote unchanged are counted; a resumed copy
    goes on from its checkpoint's counts. With `binary_copy`, rows travel in the databases'
    binary form where both ends and every column allow it (copy/wire.py).
    """
    transformers = _transformers(table, key, run_key)
    columns = _written_columns(table, transformers)
    key_columns = list(table.primary_key)
    checkpoint = resumed_from(resume)
    families = {c.name: c.family for c in table.columns}
    counter = UnchangedCounter(checkpoint.unchanged, families) if count_unchanged else None
    part = part if part is not None else sync_pb2.KeyRange()
    after = list(checkpoint.last_key or part.after.values) or None
    until = list(part.until.values) if part.HasField("until") else None
    pipe: Callable[[Sequence[TableWriter]], int | None] | None = None
    if (
        not (after or until)
        and not (transformers or table.deferred_columns)
        and (table.estimated_rows < chunk_rows or not key_columns)
    ):
        # Small or keyless and untouched: one transaction, bytes straight through.
        pipe = functools.partial(_pipe, source, table=table, columns=columns)
    wire = None
    if binary_copy and pipe is None and not any(t.reads_row for t in transformers.values()):
        targets = [(d.database, d.target(table.schema, table.name)) for d in destinations]
        wire = wire_columns(source, targets, table, columns, set(transformers))

    def batches() -> Iterator[pa.RecordBatch]:
        read = source.read(
            ReadRequest(
                table.schema, table.name, columns, key_columns, after, until, table.where, wire=wire
            )
        )
        yield from _split(prefetch(read), chunk_rows if key_columns else 0)

    return write_table(
        destinations,
        table,
        columns,
        batches(),
        report,
        checkpoint=checkpoint,
        merging=bool(checkpoint.last_key) or retrying,
        chunk_rows=chunk_rows,
        position=lambda batch, _: _key_text(batch, key_columns, source, wire),
        transform=lambda batch: transform_batch(
            batch, table, transformers, table.deferred_columns, counter
        ),
        pipe=pipe,
        counter=counter,
        wire=wire,
    )


# The checkpoint key of a chunk ending with this batch, given the rows read so far.
Position = Callable[[pa.RecordBatch, int], list[str]]


def write_table(
    destinations: Sequence[Destination],
    table: sync_pb2.TablePlan,
    columns: Sequence[str],
    batches: Iterator[pa.RecordBatch],
    report: CheckpointCallback,
    *,
    checkpoint: sync_pb2.TableCheckpoint,
    merging: bool,
    chunk_rows: int,
    position: Position,
    transform: Callable[[pa.RecordBatch], pa.RecordBatch] | None = None,
    pipe: Callable[[Sequence[TableWriter]], int | None] | None = None,
    counter: UnchangedCounter | None = None,
    wire: WireColumns | None = None,
) -> CopyResult:
    """Write `batches` (each through `transform`) to a writer per destination. A keyed table
    commits every `chunk_rows` rows and reports each commit as a checkpoint at `position`;
    counts go on from `checkpoint`, the one resumed from (empty when none). A `merging` write
    (resumed or retried) leaves rows already there rather than failing on them. `pipe`, when
    given, is tried first: it gets the writers and copies everything, returning the rows it
    copied, or None to let `batches` be written instead. `counter`, which `transform` feeds,
    goes into each checkpoint: at a commit it has counted exactly the rows committed. With
    `wire`, the batches are in the databases' binary form."""
    start, resumed = checkpoint, checkpoint.rows_read
    read, sent, since_commit = checkpoint.rows_read, 0, 0  # sent: rows given to writers
    last_report = time.monotonic()
    with ExitStack() as stack:
        writers = [
            stack.enter_context(_table_writer(destination, table, columns, merging, wire))
            for destination in destinations
        ]

        def counts() -> tuple[int, int]:
            """Rows written and skipped so far, earlier attempts' committed ones included;
            writers count the rows they leave out as they commit."""
            skipped = sum(writer.rows_skipped() for writer in writers)
            return start.rows_written + sent - skipped, start.rows_skipped + skipped

        copied = pipe(writers) if pipe is not None else None
        if copied is not None:
            sent = copied * len(writers)
            written, skipped = counts()
            report(checkpoint, copied, written)
            return CopyResult(copied, written, 0, skipped)
        for batch in batches:
            out = transform(batch) if transform is not None else batch
            read += batch.num_rows
            sent += sum(writer.write(out) for writer in writers)
            since_commit += batch.num_rows
            if table.primary_key and since_commit >= chunk_rows:
                for writer in writers:
                    writer.commit()
                since_commit = 0
                written, skipped = counts()
                checkpoint = sync_pb2.TableCheckpoint(
                    last_key=position(batch, read),
                    rows_read=read,
                    rows_written=written,
                    rows_skipped=skipped,
                    unchanged=counter.counts() if counter is not None else (),
                )
                report(checkpoint, read, written)
                last_report = time.monotonic()
            elif time.monotonic() - last_report >= REPORT_EVERY_SECONDS:
                report(checkpoint, read, counts()[0])
                last_report = time.monotonic()
    written, skipped = counts()
    report(checkpoint, read, written)
    unchanged = tuple(counter.counts()) if counter is not None else ()
    return CopyResult(read, written, resumed, skipped, unchanged)


def _table_writer(
    destination: Destination,
    table: sync_pb2.TablePlan,
    columns: Sequence[str],
    merging: bool,
    wire: WireColumns | None = None,
) -> AbstractContextManager[TableWriter]:
    on_conflict = destination.plan.on_conflict
    if merging and on_conflict in _FAIL_ON_CONFLICT:
        on_conflict = job_pb2.ON_CONFLICT_NOTHING
    schema, name = destination.target(table.schema, table.name)
    return destination.database.table_writer(
        WriteRequest(
            schema,
            name,
            columns,
            list(table.primary_key),
            on_conflict,
            _references(destination, table),
            wire,
        )
    )


def fill_deferred_columns(
    source: Database,
    destinations: Sequence[Destination],
    table: sync_pb2.TablePlan,
    key: bytes,
    run_key: bytes | None = None,
) -> int:
    """Write the deferred foreign-key columns of rows already copied, matched on the
    (transformed) primary key, transformed as copy_table with the same `run_key` did. Returns
    rows updated over all destinations."""
    columns = [*table.primary_key, *table.deferred_columns]
    transformers = {
        name: t for name, t in _transformers(table, key, run_key).items() if name in columns
    }
    request = ReadRequest(
        table.schema,
        table.name,
        columns,
        where=table.where,
        expressions=dict(table.deferred_values),
    )

    def batches() -> Generator[pa.RecordBatch]:
        for batch in source.read(request):
            yield transform_batch(batch, table, transformers)

    updated = 0
    for destination in destinations:
        schema, name = destination.target(table.schema, table.name)
        # Closed here, also when the fill fails: a reader left to the garbage collector is
        # closed in whatever thread collects it, which SQLite's connections refuse.
        with closing(batches()) as rows:
            updated += destination.database.fill_columns(
                FillRequest(schema, name, table.primary_key, table.deferred_columns), rows
            )
    return updated
