"""The parts of a run's plan that sync, generate and synthesized tables share: a table a job
names, one table's plan from its load-order step, and a foreign key as a plan names it. Pure
code."""

from collections.abc import Mapping

from services.common.errors import InvalidArgumentError
from services.engine.planning.load_order import TableStep
from services.engine.schema import ForeignKey, Schema, Table
from veilsync.temporal.v1 import ml_pb2, sync_pb2
from veilsync.v1 import transformer_pb2

Transformers = Mapping[str, transformer_pb2.TransformerConfig]


def resolve_table(schema: Schema, name: str, field: str) -> Table:
    """The table a job names, or InvalidArgumentError on `field` when the source lacks it."""
    table = schema.resolve(name)
    if table is None:
        raise InvalidArgumentError(field, f"table {name!r} does not exist in the source")
    return table


def table_plan(step: TableStep, transformers: Transformers | None = None) -> sync_pb2.TablePlan:
    """The table's columns (each with its transformer, if any), keys and place in the load
    order; the row estimate is the catalog's."""
    table, transformers = step.table, transformers or {}
    return sync_pb2.TablePlan(
        schema=table.schema,
        name=table.name,
        columns=[
            sync_pb2.ColumnPlan(
                name=c.name,
                transformer=transformers.get(c.name),
                data_type=c.data_type,
                nullable=c.nullable,
                max_length=c.max_length or 0,
                generated=c.generated is not None,
                family=c.family.value,
            )
            for c in table.columns
        ],
        primary_key=table.primary_key,
        depends_on=step.depends_on,
        deferred_columns=step.deferred_columns,
        estimated_rows=table.estimated_rows,
        relaxed_references=[reference(fk) for fk in step.relaxed_foreign_keys],
        load_group=step.load_group,
    )


def reference(fk: ForeignKey) -> ml_pb2.ForeignKeyReference:
    return ml_pb2.ForeignKeyReference(
        columns=fk.columns,
        referenced_schema=fk.ref_schema,
        referenced_table=fk.ref_table,
        referenced_columns=fk.ref_columns,
    )
