"""The generate activities: plan a generate run from the job and its shape's schema, fill one
table, fill its deferred references. Destinations are readied and finished by the sync's
prepare_destinations and finish_destinations."""

import logging
from collections.abc import Callable

from temporalio import activity

from services.common.activity_errors import domain_errors
from services.contract.sync_worker_temporal import (
    FILL_GENERATED_REFERENCES_ACTIVITY,
    GENERATE_TABLE_ACTIVITY,
    PLAN_GENERATE_ACTIVITY,
)
from services.engine.generate.fill import fill_generated_references, generate_table
from services.engine.planning.job_plan import generate_plan, read_shape
from services.sync_worker.activities import JobActivities, last_checkpoint
from veilsync.temporal.v1 import generate_pb2, sync_pb2

log = logging.getLogger(__name__)


class GenerateActivities(JobActivities):
    @activity.defn(name=PLAN_GENERATE_ACTIVITY.name)
    @domain_errors
    def plan_generate(
        self, request: generate_pb2.PlanGenerateInput
    ) -> generate_pb2.PlanGenerateResult:
        account = request.account_id
        job = self._directory.get_job(account, job_id=request.job_id)
        plan = generate_plan(read_shape(job, account, self._directory))
        return generate_pb2.PlanGenerateResult(plan=plan)

    @activity.defn(name=GENERATE_TABLE_ACTIVITY.name)
    @domain_errors
    def generate_table(
        self, request: generate_pb2.GenerateTableInput
    ) -> generate_pb2.GenerateTableResult:
        account, table = request.account_id, request.table
        name = f"{table.schema}.{table.name}"
        info = activity.info()

        def report(checkpoint: sync_pb2.TableCheckpoint, made: int, written: int) -> None:
            activity.heartbeat(checkpoint)
            progress = sync_pb2.TableProgress(table=name, rows_read=made, rows_written=written)
            self._send_progress(
                info.workflow_id or "",
                info.workflow_run_id or "",
                sync_pb2.SetSyncProgressRequest(table=progress),
            )

        key, run_key = self._keys(account, request.job_id)
        result = generate_table(
            self._destinations(account, list(request.destinations)),
            table,
            request.generation,
            key,
            report,
            last_checkpoint(info.heartbeat_details),
            self._chunk_rows,
            run_key,
        )
        log.info("generated %s: %d rows, %d written", name, result.rows_read, result.rows_written)
        return generate_pb2.GenerateTableResult(
            table=name,
            rows_generated=result.rows_read,
            rows_written=result.rows_written,
            rows_resumed=result.rows_resumed,
        )

    @activity.defn(name=FILL_GENERATED_REFERENCES_ACTIVITY.name)
    @domain_errors
    def fill_generated_references(
        self, request: generate_pb2.FillGeneratedReferencesInput
    ) -> generate_pb2.FillGeneratedReferencesResult:
        inner = request.table
        updated = fill_generated_references(
            self._destinations(inner.account_id, list(inner.destinations)),
            inner.table,
            inner.generation,
            self._directory.transform_key(inner.account_id, inner.job_id),
        )
        return generate_pb2.FillGeneratedReferencesResult(rows_updated=updated)

    def all(self) -> list[Callable[..., object]]:
        return [self.plan_generate, self.generate_table, self.fill_generated_references]
