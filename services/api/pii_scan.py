"""What SuggestTransformers asks of a live database: its schema and a bounded sample of each
table, handed to the engine's pure detection. The sample stays in this process."""

from itertools import islice

import pyarrow as pa

from services.engine.connectors import open_database
from services.engine.connectors.base import Database, ReadRequest
from services.engine.inspect.pii_suggest import SuggestionReport, suggest
from services.engine.schema import Table, TypeFamily

DEFAULT_SAMPLE_ROWS = 200
MAX_SAMPLE_ROWS = 1000
# Families whose text can show PII; binary, JSON and the like are judged on names alone.
_SAMPLED = (TypeFamily.TEXT, TypeFamily.INTEGER, TypeFamily.NUMERIC, TypeFamily.OTHER)
_MAX_BATCHES = 8  # with bounded batches, a few of them hold far more than MAX_SAMPLE_ROWS


def scan(url: str, sample_rows: int) -> SuggestionReport:
    database = open_database(url)
    schema = database.introspect()
    samples = {
        name: sampled
        for name, table in schema.tables.items()
        if (sampled := _sample(database, table, sample_rows)) is not None
    }
    return suggest(schema, samples)


def _sample(database: Database, table: Table, rows: int) -> pa.Table | None:
    columns = [c.name for c in table.columns if c.family in _SAMPLED and c.generated is None]
    if not columns:
        return None
    batches: list[pa.RecordBatch] = []
    have = 0
    # Closing the reader after the first rows stops the read (a COPY is cancelled).
    reader = database.read(ReadRequest(table.schema, table.name, columns))
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
