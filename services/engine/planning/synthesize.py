"""A job's synthesized tables to their plans: which model, how many rows, and which foreign
keys draw their values from the destination's parent rows. Pure code."""

import re

from services.common.errors import InvalidArgumentError
from services.common.ml_contract import TRAINABLE_KINDS, training_defaults
from services.engine.planning.table_plans import reference, resolve_table
from services.engine.schema import Schema
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2, model_pb2

_NOT_A_NAME = re.compile(r"[^a-z0-9._-]+")


def synthesize_plans(job: job_pb2.Job, schema: Schema) -> dict[str, sync_pb2.SynthesizePlan]:
    """Plans by qualified table name; row_count 0 is resolved later, by counting the source."""
    plans: dict[str, sync_pb2.SynthesizePlan] = {}
    for i, item in enumerate(job.synthesize):
        field = f"job.synthesize[{i}]"
        table = resolve_table(schema, item.table, f"{field}.table")
        if table.qualified in plans:
            raise InvalidArgumentError(f"{field}.table", f"{table.qualified} is listed twice")
        if item.kind and item.kind not in TRAINABLE_KINDS:
            raise InvalidArgumentError(
                f"{field}.kind", "use GAUSSIAN_COPULA, CTGAN, TVAE or VEILSYNC_VAE"
            )
        if item.row_count < 0:
            raise InvalidArgumentError(f"{field}.row_count", "must be 0 or more")
        plans[table.qualified] = sync_pb2.SynthesizePlan(
            model=item.model or default_model_name(job.name, table.name),
            kind=item.kind,
            options=training_defaults(item.options, f"{field}.options")
            if item.kind
            else model_pb2.TrainingOptions(),
            row_count=item.row_count,
            seed=item.seed,
            references=[reference(fk) for fk in table.foreign_keys],
            serving_queue=item.serving_queue,
        )
    return plans


def default_model_name(job: str, table: str) -> str:
    return _NOT_A_NAME.sub("-", f"{job}-{table}".lower()).strip("-._")[:63]
