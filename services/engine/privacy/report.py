"""A run's privacy report, once its last row is written: the unchanged-value counts the
copies took, and what the first destination now holds, read there (never from the source):
a bounded sample of each table for the PII detector and distinct counts, and a GROUP BY over
the quasi-identifiers for k-anonymity."""

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from services.engine.connectors.base import ReadRequest
from services.engine.copy.table_copy import Destination
from services.engine.inspect.pii import detect
from services.engine.inspect.sample import SAMPLED_FAMILIES, first_rows
from services.engine.privacy import findings, policy
from services.engine.schema import TypeFamily
from services.engine.transformers import Transformer, transformer_class
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2

SAMPLE_ROWS = 10_000  # rows per table the distinct counts see
PII_SAMPLE_VALUES = 1_000  # values per column the detector sees, as `jobs suggest` at most


def privacy_report(
    destination: Destination,
    plan: sync_pb2.SyncPlan,
    progress: sync_pb2.SyncProgress,
    beat: Callable[[], None] = lambda: None,
) -> job_pb2.PrivacyReport:
    """The report of a finished run whose final counts are `progress`; policy.apply_policy
    marks the findings plan.privacy fails on. `beat` is called after each table."""
    report = job_pb2.PrivacyReport(destination_connection_id=destination.plan.connection_id)
    done = {t.table: t for t in progress.tables}
    keys = _key_columns(plan)
    min_k = policy.min_k(plan.privacy)
    for table in plan.tables:
        name = f"{table.schema}.{table.name}"
        counts = done.get(name, sync_pb2.TableProgress())
        entry = report.tables.add(table=name)
        checks = _columns(table, counts, keys.get(name, set()), entry)
        _measure_sample(destination, table, checks, entry)
        if table.quasi_identifiers:
            _measure_k_anonymity(destination, table, entry)
        for column in entry.columns:
            must_change = checks.must_change.get(column.column, False)
            found = (
                findings.pii_in_clear(name, column),
                findings.unchanged_values(name, column, must_change),
                findings.frequency_linkage(name, column),
            )
            report.findings.extend(f for f in found if f is not None)
        if entry.HasField("k_anonymity"):
            k = findings.k_anonymity(name, entry.k_anonymity, min_k)
            if k is not None:
                report.findings.append(k)
        beat()
    return report


class _Checks:
    """What to read of one table's sample: columns in clear (by type family) for the
    detector, transformed ones for their distinct values; and which transformers promise a
    value different from their input."""

    def __init__(self) -> None:
        self.clear: dict[str, TypeFamily] = {}
        self.distinct: list[str] = []
        self.must_change: dict[str, bool] = {}


def _columns(
    table: sync_pb2.TablePlan,
    counts: sync_pb2.TableProgress,
    keys: set[str],
    entry: job_pb2.TablePrivacy,
) -> _Checks:
    checks = _Checks()
    unchanged = {c.column: c for c in counts.unchanged}
    # A synthesized table's values are a model's samples, not copies: what it keeps of its
    # training rows is the model's evaluation's to say, not the detector's.
    copied = not table.HasField("synthesize")
    for column in table.columns:
        kind = column.transformer.WhichOneof("config") if column.HasField("transformer") else None
        if column.generated or not (copied or kind):
            continue
        if kind is None or kind == "passthrough":
            checks.clear[column.name] = _family(column.family)
            entry.columns.add(column=column.name)
            continue
        cls = transformer_class(column.transformer, column.name)
        if cls.omits_column:
            continue  # the destination wrote its own default
        counted = unchanged.get(column.name, sync_pb2.ColumnUnchanged())
        entry.columns.add(
            column=column.name,
            transformer=kind,
            random=column.transformer.random,
            unchanged=counted.unchanged,
            compared=counted.compared,
        )
        checks.must_change[column.name] = _must_change(cls)
        # Keys keep their frequencies by design: a foreign key's repeats are the relation
        # itself, and no transformer could hide them without breaking the join.
        if cls.keyed and cls.deterministic and column.name not in keys:
            checks.distinct.append(column.name)
    return checks


def _must_change(cls: type[Transformer]) -> bool:
    """Keyed transformers that derive a replacement from the value promise a different one;
    generators draw from their own domain, where a draw equal to the input is chance, and
    keyless ones (mask) keep what they were told to."""
    return cls.keyed and not cls.name.startswith("generate_")


def _family(name: str) -> TypeFamily:
    """The plan's type family; plans from before it was recorded read as text."""
    try:
        return TypeFamily(name)
    except ValueError:
        return TypeFamily.TEXT


def _measure_sample(
    destination: Destination,
    table: sync_pb2.TablePlan,
    checks: _Checks,
    entry: job_pb2.TablePrivacy,
) -> None:
    sampled = [c for c, family in checks.clear.items() if family in SAMPLED_FAMILIES]
    columns = list(dict.fromkeys([*sampled, *checks.distinct]))
    sample = None
    if columns:
        schema, name = destination.target(table.schema, table.name)
        request = ReadRequest(schema, name, columns)
        sample = first_rows(destination.database, request, SAMPLE_ROWS)
    entry.rows_sampled = sample.num_rows if sample is not None else 0
    for column in entry.columns:
        values = None
        if sample is not None and column.column in columns:
            values = sample.column(column.column)
        if values is not None:
            column.values_sampled = len(values) - values.null_count
        if column.column in checks.clear:
            values = values.slice(0, PII_SAMPLE_VALUES) if values is not None else None
            detection = detect(column.column, checks.clear[column.column], values)
            if detection is not None:
                column.pii_kind = detection.kind.value
                column.pii_confidence = detection.confidence
        elif column.column in checks.distinct and values is not None:
            column.distinct_values = _distinct(values)
    # A column in clear that reads as nothing is left out: the report of a wide schema stays
    # small enough to travel in the run's result.
    kept = [c for c in entry.columns if c.transformer or c.pii_kind]
    del entry.columns[:]
    entry.columns.extend(kept)


def _distinct(values: pa.ChunkedArray) -> int:
    return int(pc.count_distinct(values).as_py() or 0)


def _measure_k_anonymity(
    destination: Destination, table: sync_pb2.TablePlan, entry: job_pb2.TablePrivacy
) -> None:
    schema, name = destination.target(table.schema, table.name)
    sizes = destination.database.group_sizes(schema, name, table.quasi_identifiers)
    entry.k_anonymity.CopyFrom(
        job_pb2.KAnonymity(
            columns=table.quasi_identifiers,
            declared=table.quasi_identifiers_declared,
            k=sizes.smallest,
            rows=sizes.rows,
            unique_rows=sizes.unique_rows,
            groups=sizes.groups,
        )
    )


def _key_columns(plan: sync_pb2.SyncPlan) -> dict[str, set[str]]:
    """Per table, its primary key and the columns of its foreign keys and of others' foreign
    keys pointing at it."""
    keys: dict[str, set[str]] = {}
    for table in plan.tables:
        name = f"{table.schema}.{table.name}"
        keys.setdefault(name, set()).update(table.primary_key)
        for ref in table.checked_references:
            keys[name].update(ref.columns)
            referenced = f"{ref.referenced_schema}.{ref.referenced_table}"
            keys.setdefault(referenced, set()).update(ref.referenced_columns)
    return keys
