"""Checks a job's column mappings against the source schema."""

from services.common.errors import InvalidArgumentError
from services.engine.schema import Schema, Table
from services.engine.transformers import transformer_class, validate_transformer
from veilsync.v1 import job_pb2, transformer_pb2

Mappings = dict[str, dict[str, transformer_pb2.TransformerConfig]]


def resolve_mappings(job: job_pb2.Job, schema: Schema) -> Mappings:
    """Transformers by qualified table and column; InvalidArgumentError names the first field
    that does not fit the schema."""
    resolved: Mappings = {}
    for i, mapping in enumerate(job.mappings):
        field = f"job.mappings[{i}]"
        table = schema.resolve(mapping.table)
        if table is None:
            raise InvalidArgumentError(
                f"{field}.table", f"table {mapping.table!r} does not exist in the source"
            )
        if table.qualified in resolved:
            raise InvalidArgumentError(f"{field}.table", f"{table.qualified} is mapped twice")
        for column_name, config in sorted(mapping.columns.items()):
            _check_column(table, column_name, config, f"{field}.columns[{column_name}]")
        resolved[table.qualified] = dict(mapping.columns)
    _check_references(schema, resolved)
    return resolved


def check_column_mapping(
    table: Table, name: str, config: transformer_pb2.TransformerConfig, field: str
) -> None:
    """One column's transformer against its table, as job validation checks it."""
    _check_column(table, name, config, field)


def _check_column(
    table: Table, name: str, config: transformer_pb2.TransformerConfig, field: str
) -> None:
    column = table.column(name)
    if column is None:
        raise InvalidArgumentError(field, f"column {name!r} does not exist in {table.qualified}")
    cls = transformer_class(config, field)
    if column.generated and cls.name != "passthrough":
        raise InvalidArgumentError(field, "generated columns are computed, not written")
    if column.family not in cls.data_types:
        accepted = ", ".join(str(t) for t in cls.data_types)
        raise InvalidArgumentError(
            field,
            f"{cls.name} accepts {accepted} columns, not {column.data_type} ({column.family})",
        )
    if cls.writes_null and not column.nullable:
        raise InvalidArgumentError(field, f"{cls.name} writes NULL but the column is NOT NULL")
    # Options, and options that cannot fit this column (its length, range, nullability).
    validate_transformer(config, field, column)


def _check_references(schema: Schema, resolved: Mappings) -> None:
    """A transformed key keeps its references joinable only when every foreign key pointing at
    it is transformed the same way (the keyed transformers are deterministic)."""
    for table in schema.tables.values():
        for fk in table.foreign_keys:
            parent = resolved.get(fk.ref_qualified, {})
            child = resolved.get(table.qualified, {})
            for column, ref in zip(fk.columns, fk.ref_columns, strict=True):
                if parent.get(ref) != child.get(column):
                    raise InvalidArgumentError(
                        "job.mappings",
                        f"{table.qualified}.{column} references {fk.ref_qualified}.{ref}; map "
                        "both with the same transformer so references stay joinable",
                    )
