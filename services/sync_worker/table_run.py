"""What DataSyncWorkflow and GenerateWorkflow share: the job's run options applied to every
step, run hooks told how the run ended, and per-table progress (the SetSyncProgress signal and
the GetSyncProgress query). Deterministic: contracts only, no I/O."""

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from services.common.contract_defs import ActivityDef, In, Out
    from services.common.failures import innermost
    from services.common.observability.run_outcomes import count_run
    from services.contract.sync_worker_temporal import (
        DELIVER_RUN_HOOKS_ACTIVITY,
        GET_SYNC_PROGRESS_QUERY,
        SET_SYNC_PROGRESS_SIGNAL,
    )
    from veilsync.temporal.v1 import sync_pb2
    from veilsync.v1 import job_pb2

T = TypeVar("T")
SHORT = timedelta(minutes=10)
TABLE = timedelta(hours=12)
HEARTBEAT = timedelta(minutes=2)
MAX_ATTEMPTS = 5


def cause(err: BaseException) -> str:
    """The innermost failure's message: what actually went wrong in the step."""
    return innermost(err)[0]


class TableRun:
    """Base of the workflows that write tables in foreign-key order."""

    failure_type: ClassVar[str] = "SyncFailed"
    run_kind: ClassVar[str] = "sync"  # the kind label of veilsync_runs_total

    def __init__(self) -> None:
        self._progress = sync_pb2.SyncProgress()
        self._tables: dict[str, sync_pb2.TableProgress] = {}
        self._parts: dict[str, dict[int, sync_pb2.TableProgress]] = {}  # by KeyRange.index
        # Each part's last commit, which a failed table reports: by table, by KeyRange.index.
        self._committed: dict[str, dict[int, sync_pb2.TableCheckpoint]] = {}
        self._tables_started = 0  # by this run
        self._options = job_pb2.RunOptions()
        self._has_hooks: bool | None = None  # unknown until the plan says

    async def _in_dependency_order(
        self,
        depends_on: dict[str, set[str]],
        limit: int,
        units: Callable[[list[str], int], list[tuple[str, ...]]],
        run_unit: Callable[[tuple[str, ...]], Coroutine[Any, Any, None]],
        done: set[str] | None = None,
        pause: Callable[[], bool] = lambda: False,
    ) -> bool:
        """Start each unit of tables (`units` groups the ready ones for the free slots) once
        every table it depends on is written, at most `limit` units at a time; the first
        failure cancels the others and fails the run. Tables in `done` are not run again.
        Once `pause()` holds, no unit starts; returns whether every table was written (False:
        paused with none in flight)."""
        done = set(done or ())
        waiting = {name: set(deps) for name, deps in depends_on.items() if name not in done}
        running: dict[tuple[str, ...], asyncio.Task[None]] = {}
        while waiting or running:
            ready = [n for n, deps in waiting.items() if deps <= done]
            for unit in [] if pause() else units(ready, max(limit, 1) - len(running)):
                for name in unit:
                    del waiting[name]
                running[unit] = asyncio.create_task(run_unit(unit))
            if not running:
                if pause():
                    return False
                raise ApplicationError(
                    f"tables {sorted(waiting)} wait on each other", non_retryable=True
                )
            finished, _ = await workflow.wait(
                list(running.values()), return_when=asyncio.FIRST_COMPLETED
            )
            for unit, task in list(running.items()):
                if task in finished:
                    del running[unit]
                    if task.exception() is not None:
                        for other in running.values():
                            other.cancel()
                        task.result()
                    done.update(unit)
        return True

    def _failed(self, progress: sync_pb2.TableProgress, committed_counts: bool = True) -> None:
        """The table failed; with `committed_counts` its counts become what its parts last
        committed: rows sent by a failed attempt but rolled back are not in the destination."""
        progress.status = job_pb2.TABLE_SYNC_STATUS_FAILED
        if committed_counts:
            parts = self._committed.get(progress.table, {}).values()
            progress.rows_read = sum(c.rows_read for c in parts)
            progress.rows_written = sum(c.rows_written for c in parts)
            progress.rows_skipped = sum(c.rows_skipped for c in parts)

    def _started(self, progress: sync_pb2.TableProgress) -> None:
        self._tables_started += 1
        progress.status = job_pb2.TABLE_SYNC_STATUS_RUNNING
        progress.start_time.FromDatetime(workflow.now())

    async def _with_hooks(
        self,
        job_id: str,
        account_id: str,
        body: Awaitable[T],
        counts: Callable[[T], tuple[int, int]],
    ) -> T:
        """The run's body, then its hooks told how it ended (a hook never changes that)."""
        try:
            result = await body
        except asyncio.CancelledError:
            count_run(self.run_kind, "cancelled")
            raise
        except ApplicationError as err:
            count_run(self.run_kind, "failed")
            if self._has_hooks is not False:
                await self._deliver_hooks(
                    job_id, account_id, job_pb2.RUN_STATUS_FAILED, err.message
                )
            raise
        count_run(self.run_kind, "succeeded")
        if self._has_hooks:
            read, written = counts(result)
            await self._deliver_hooks(
                job_id, account_id, job_pb2.RUN_STATUS_SUCCEEDED, "", read, written
            )
        return result

    async def _deliver_hooks(
        self,
        job_id: str,
        account_id: str,
        status: "job_pb2.RunStatus.ValueType",
        failure: str,
        rows_read: int = 0,
        rows_written: int = 0,
    ) -> None:
        hooks = sync_pb2.DeliverRunHooksInput(
            job_id=job_id,
            account_id=account_id,
            run_id=workflow.info().workflow_id,
            status=status,
            failure_message=failure,
            rows_read=rows_read,
            rows_written=rows_written,
        )
        try:
            await DELIVER_RUN_HOOKS_ACTIVITY.execute(
                hooks,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=RetryPolicy(maximum_attempts=10),
            )
        except ActivityError as err:
            workflow.logger.warning("run hooks not delivered: %s", cause(err))

    def _table_heartbeat(self) -> timedelta | None:
        """The job's heartbeat timeout of a table step; None keeps each step's default."""
        options = self._options
        if options.HasField("table_heartbeat_timeout"):
            return options.table_heartbeat_timeout.ToTimedelta()
        return None

    async def _activity(
        self,
        activity: ActivityDef[In, Out],
        request: In,
        step: str,
        table: bool = False,
    ) -> Out:
        """Run one step with the job's options; a table step heartbeats its checkpoints."""
        options = self._options
        timeout, heartbeat = SHORT, None
        if table:
            timeout = (
                options.table_timeout.ToTimedelta() if options.HasField("table_timeout") else TABLE
            )
            heartbeat = self._table_heartbeat() or HEARTBEAT
        attempts = (
            options.activity_max_attempts
            if options.HasField("activity_max_attempts")
            else MAX_ATTEMPTS
        )
        try:
            return await activity.execute(
                request,
                start_to_close_timeout=timeout,
                heartbeat_timeout=heartbeat,
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1),
                    backoff_coefficient=2.0,
                    maximum_interval=timedelta(minutes=1),
                    maximum_attempts=attempts,
                ),
            )
        except ActivityError as err:
            raise ApplicationError(
                f"{step} failed: {cause(err)}", type=self.failure_type, non_retryable=True
            ) from err

    @workflow.signal(name=SET_SYNC_PROGRESS_SIGNAL.name)
    def set_progress(self, request: sync_pb2.SetSyncProgressRequest) -> None:
        """Counts only grow, a table copied in parts counts the sum of its parts, and a
        finished table keeps its exact final counts; a part's last commit is kept apart, for
        the counts of a table that fails."""
        progress = self._tables.get(request.table.table)
        if progress is None or progress.status != job_pb2.TABLE_SYNC_STATUS_RUNNING:
            return
        if request.HasField("committed"):
            commits = self._committed.setdefault(progress.table, {})
            last = commits.get(request.part)
            # A later commit has read further: signals may come in any order.
            if last is None or request.committed.rows_read >= last.rows_read:
                commits[request.part] = request.committed
        parts = self._parts.setdefault(progress.table, {})
        part = parts.setdefault(request.part, sync_pb2.TableProgress())
        update = request.table
        part.rows_read = max(part.rows_read, update.rows_read)
        part.rows_written = max(part.rows_written, update.rows_written)
        part.rows_skipped = max(part.rows_skipped, update.rows_skipped)
        progress.rows_read = sum(p.rows_read for p in parts.values())
        progress.rows_written = sum(p.rows_written for p in parts.values())
        progress.rows_skipped = sum(p.rows_skipped for p in parts.values())
        progress.rows_total = max(progress.rows_total, progress.rows_read)

    @workflow.query(name=GET_SYNC_PROGRESS_QUERY.name)
    def get_progress(
        self, request: sync_pb2.GetSyncProgressRequest
    ) -> sync_pb2.GetSyncProgressResponse:
        return sync_pb2.GetSyncProgressResponse(progress=self._progress)
