"""Every way a job does not fit its source's schema, collected rather than raised: the
report ValidateJob returns, including drift since the job was saved."""

import json
from dataclasses import dataclass
from enum import StrEnum

from services.common.errors import InvalidArgumentError
from services.engine.planning.load_order import plan_tables
from services.engine.planning.rules import _check_column
from services.engine.schema import Schema
from veilsync.v1 import job_pb2, transformer_pb2

# Snapshot of a source schema: qualified table -> column -> data type.
Snapshot = dict[str, dict[str, str]]


class Kind(StrEnum):
    UNKNOWN_TABLE = "unknown_table"
    UNKNOWN_COLUMN = "unknown_column"
    TYPE_MISMATCH = "type_mismatch"
    UNSUPPORTED_CYCLE = "unsupported_cycle"
    UNMAPPED_NEW_COLUMN = "unmapped_new_column"
    TYPE_CHANGED = "type_changed"
    REMOVED = "removed"
    INCONSISTENT_KEY = "inconsistent_key"
    INVALID_MAPPING = "invalid_mapping"


@dataclass(frozen=True)
class Violation:
    kind: Kind
    description: str
    field: str = ""
    table: str = ""
    column: str = ""
    error: bool = True  # False: a warning, the job still runs


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
    found = _mapping_violations(job, schema)
    found += _cycle_violations(schema)
    if saved is not None:
        found += _drift(job, schema, saved)
    return sorted(found, key=lambda v: not v.error)


def _mapping_violations(job: job_pb2.Job, schema: Schema) -> list[Violation]:
    found: list[Violation] = []
    resolved: dict[str, dict[str, transformer_pb2.TransformerConfig]] = {}
    for i, mapping in enumerate(job.mappings):
        field = f"job.mappings[{i}]"
        table = schema.resolve(mapping.table)
        if table is None:
            found.append(
                Violation(
                    Kind.UNKNOWN_TABLE,
                    f"table {mapping.table!r} does not exist in the source",
                    f"{field}.table",
                    mapping.table,
                )
            )
            continue
        resolved[table.qualified] = dict(mapping.columns)
        for name, config in sorted(mapping.columns.items()):
            column_field = f"{field}.columns[{name}]"
            if table.column(name) is None:
                found.append(
                    Violation(
                        Kind.UNKNOWN_COLUMN,
                        f"column {name!r} does not exist in {table.qualified}",
                        column_field,
                        table.qualified,
                        name,
                    )
                )
                continue
            try:
                _check_column(table, name, config, column_field)
            except InvalidArgumentError as err:
                found.append(
                    Violation(
                        Kind.TYPE_MISMATCH, err.description, column_field, table.qualified, name
                    )
                )
    for table in schema.tables.values():
        for fk in table.foreign_keys:
            parent = resolved.get(fk.ref_qualified, {})
            child = resolved.get(table.qualified, {})
            for column, ref in zip(fk.columns, fk.ref_columns, strict=True):
                if parent.get(ref) != child.get(column):
                    found.append(
                        Violation(
                            Kind.INCONSISTENT_KEY,
                            f"{table.qualified}.{column} references {fk.ref_qualified}.{ref}; "
                            "map both with the same transformer so references stay joinable",
                            "job.mappings",
                            table.qualified,
                            column,
                        )
                    )
    return found


def _cycle_violations(schema: Schema) -> list[Violation]:
    try:
        plan_tables(schema.tables.values())
    except InvalidArgumentError as err:
        return [Violation(Kind.UNSUPPORTED_CYCLE, err.description, err.field)]
    return []


def _drift(job: job_pb2.Job, schema: Schema, saved: Snapshot) -> list[Violation]:
    now = snapshot(schema)
    mapped = {
        (table.qualified, column)
        for mapping in job.mappings
        if (table := schema.resolve(mapping.table)) is not None
        for column in mapping.columns
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
