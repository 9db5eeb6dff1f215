"""A bounded sample of a table: its first rows, read through the connector's own reader and
stopped once there are enough. What the PII detector and the privacy report look at; the
rows stay in the caller's process."""

from itertools import islice

import pyarrow as pa

from services.engine.connectors.base import Database, ReadRequest
from services.engine.schema import TypeFamily

# Families whose text can show PII; binary, JSON and the like are judged on names alone.
SAMPLED_FAMILIES = (TypeFamily.TEXT, TypeFamily.INTEGER, TypeFamily.NUMERIC, TypeFamily.OTHER)
_MAX_BATCHES = 8  # with bounded batches, a few of them hold far more than any sample wanted


def first_rows(database: Database, request: ReadRequest, rows: int) -> pa.Table | None:
    """At most `rows` rows `request` reads (from its first few batches); None when none."""
    batches: list[pa.RecordBatch] = []
    have = 0
    # Closing the reader after the first rows stops the read (a COPY is cancelled).
    reader = database.read(request)
    try:
        for batch in islice(reader, _MAX_BATCHES):
            batches.append(batch.slice(0, rows - have))
            have += batches[-1].num_rows
            if have >= rows:
                break
    finally:
        close = getattr(reader, "close", None)
        if close is not None:
            close()
    if not batches:
        return None
    return pa.Table.from_batches(batches)
