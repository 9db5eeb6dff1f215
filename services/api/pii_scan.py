"""What SuggestTransformers asks of a live database: its schema and a bounded sample of each
table, handed to the engine's pure detection. The sample stays in this process."""

import pyarrow as pa

from services.engine.connectors import open_database
from services.engine.connectors.base import Database, ReadRequest
from services.engine.inspect.pii_suggest import SuggestionReport, suggest
from services.engine.inspect.sample import SAMPLED_FAMILIES, first_rows
from services.engine.schema import Table

DEFAULT_SAMPLE_ROWS = 200
MAX_SAMPLE_ROWS = 1000


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
    columns = [
        c.name for c in table.columns if c.family in SAMPLED_FAMILIES and c.generated is None
    ]
    if not columns:
        return None
    return first_rows(database, ReadRequest(table.schema, table.name, columns), rows)
