"""A job and its source schema to the plan a run follows."""

from services.sync_worker.engine.mappings import resolve_mappings
from services.sync_worker.engine.planner import plan_tables
from services.sync_worker.engine.schema import Schema
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2

DEFAULT_PARALLEL_TABLES = 4


def build_plan(
    job: job_pb2.Job,
    schema: Schema,
    source_connection_id: str,
    destinations: list[sync_pb2.DestinationPlan],
) -> sync_pb2.SyncPlan:
    mappings = resolve_mappings(job, schema)
    plan = sync_pb2.SyncPlan(
        source_connection_id=source_connection_id,
        destinations=destinations,
        max_parallel_tables=job.max_parallel_tables or DEFAULT_PARALLEL_TABLES,
    )
    for step in plan_tables(schema.tables.values()):
        table = step.table
        transformers = mappings.get(table.qualified, {})
        plan.tables.append(
            sync_pb2.TablePlan(
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
                    )
                    for c in table.columns
                ],
                primary_key=table.primary_key,
                depends_on=step.depends_on,
                deferred_columns=step.deferred_columns,
                estimated_rows=table.estimated_rows,
            )
        )
    return plan
