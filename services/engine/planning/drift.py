"""Every way a job does not fit its source's schema, collected rather than raised (the rules of
planning.rules), and what drifted since the job was saved: the report ValidateJob returns."""

import json

from services.engine.planning.rules import (
    Kind,
    Violation,
    applied_mappings,
    mapping_violations,
)
from services.engine.planning.virtual_keys import virtual_key_violations, with_fitting_virtual_keys
from services.engine.schema import Schema
from veilsync.v1 import job_pb2

# Snapshot of a source schema: qualified table -> column -> data type.
Snapshot = dict[str, dict[str, str]]


def snapshot(schema: Schema) -> Snapshot:
    return {
        name: {column.name: column.data_type for column in table.columns}
        for name, table in schema.tables.items()
    }


def snapshot_json(schema: Schema) -> str:
    return json.dumps(snapshot(schema), sort_keys=True)


def parse_snapshot(text: str | None) -> Snapshot | None:
    return None if not text else dict(json.loads(text))


def job_violations(job: job_pb2.Job, schema: Schema, saved: Snapshot | None) -> list[Violation]:
    """Errors first, then warnings; empty when the job fits the schema and nothing drifted."""
    declared = job.source.virtual_foreign_keys
    # Keys are propagated over the references a run follows.
    keyed = with_fitting_virtual_keys(schema, declared)
    found = [
        *virtual_key_violations(schema, declared),
        *mapping_violations(job, keyed),
    ]
    if saved is not None:
        found += _drift(job, keyed, saved)
    return sorted(found, key=lambda v: not v.error)


def _drift(job: job_pb2.Job, schema: Schema, saved: Snapshot) -> list[Violation]:
    now = snapshot(schema)
    # A new column that inherits its key's transformer is not copied untransformed.
    mapped = {
        (table, column)
        for table, columns in applied_mappings(job, schema).items()
        for column in columns
    }
    found: list[Violation] = []
    for name in sorted(saved.keys() - now.keys()):
        found.append(Violation(Kind.REMOVED, f"table {name} is gone from the source", table=name))
    for name in sorted(now.keys() & saved.keys()):
        before, after = saved[name], now[name]
        for column in sorted(before.keys() - after.keys()):
            found.append(
                Violation(
                    Kind.REMOVED, f"column {name}.{column} is gone", table=name, column=column
                )
            )
        for column in sorted(after.keys() - before.keys()):
            if (name, column) not in mapped:
                found.append(
                    Violation(
                        Kind.UNMAPPED_NEW_COLUMN,
                        f"new column {name}.{column} is copied untransformed; map it if it "
                        "holds sensitive data",
                        table=name,
                        column=column,
                        error=False,
                    )
                )
        for column in sorted(after.keys() & before.keys()):
            if after[column] != before[column]:
                found.append(
                    Violation(
                        Kind.TYPE_CHANGED,
                        f"{name}.{column} changed type from {before[column]} to {after[column]}",
                        table=name,
                        column=column,
                        error=False,
                    )
                )
    for name in sorted(now.keys() - saved.keys()):
        found.append(
            Violation(
                Kind.UNMAPPED_NEW_COLUMN,
                f"new table {name} is copied untransformed",
                table=name,
                error=False,
            )
        )
    return found
