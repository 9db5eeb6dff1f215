"""A run's check of its own result, once the last row is written and before it reports
success: per table, the counts and (where the run emptied or created the table) the rows the
destinations hold; in every destination, the rows whose foreign keys dangle; and warnings
that do not fail the run. Reads the destinations only."""

from collections.abc import Callable, Collection, Sequence

from services.engine.connectors.base import Database
from services.engine.copy.table_copy import (
    Destination,
    destination_reference,
    sharing_connections,
)
from services.engine.privacy.policy import apply_policy
from services.engine.privacy.report import privacy_report
from veilsync.temporal.v1 import ml_pb2, sync_pb2
from veilsync.v1 import job_pb2


def verify_run(
    source: Database,
    destinations: Sequence[Destination],
    plan: sync_pb2.SyncPlan,
    progress: sync_pb2.SyncProgress,
    created: Sequence[Collection[str]] = (),
    beat: Callable[[], None] = lambda: None,
    privacy: bool = True,
) -> job_pb2.RunVerification:
    """The verification of a finished run whose final counts are `progress`; `created` holds
    the tables (destination names) the run created in each destination. The source is only
    counted, for the rows a subset left out. The run must fail when it lists failures. `beat`
    is called after each table, whose queries may be long. With `privacy`, the verification
    holds the run's privacy report, and the findings the plan's policy fails on are failures.
    Its queries (a few per table) share one connection per database."""
    with sharing_connections([source, *(d.database for d in destinations)]):
        done = {t.table: t for t in progress.tables}
        verification = job_pb2.RunVerification()
        for table in plan.tables:
            name = f"{table.schema}.{table.name}"
            counts = done.get(name, sync_pb2.TableProgress())
            entry = verification.tables.add(
                table=name,
                rows_read=counts.rows_read,
                rows_written=counts.rows_written,
                rows_skipped=counts.rows_skipped,
            )
            _count_present(destinations, table, created, entry, verification)
            if table.where and not table.HasField("synthesize"):
                entry.rows_left_out = source.count(table.schema, table.name) - counts.rows_read
            if table.subset_root and counts.rows_written == 0:
                verification.warnings.append(
                    f"subset root {name} kept 0 rows: its where-clause matched no row it could keep"
                )
            for ref in table.checked_references:
                for destination in destinations:
                    _check_reference(destination, table, ref, len(destinations) > 1, verification)
            beat()
        if privacy and destinations:
            verification.privacy.CopyFrom(privacy_report(destinations[0], plan, progress, beat))
            verification.failures.extend(apply_policy(verification.privacy, plan.privacy))
        return verification


def _count_present(
    destinations: Sequence[Destination],
    table: sync_pb2.TablePlan,
    created: Sequence[Collection[str]],
    entry: job_pb2.TableVerification,
    verification: job_pb2.RunVerification,
) -> None:
    """The rows the destinations hold, compared with the rows written, when the run emptied
    or created the table in every destination: rows kept from before would make any other
    count meaningless."""
    targets = [d.target(table.schema, table.name) for d in destinations]
    for index, (destination, target) in enumerate(zip(destinations, targets, strict=True)):
        made = created[index] if index < len(created) else ()
        if not (destination.plan.truncate_before_insert or ".".join(target) in made):
            return
    entry.rows_present = sum(
        d.database.count(*t) for d, t in zip(destinations, targets, strict=True)
    )
    if entry.rows_present != entry.rows_written:
        verification.failures.append(
            f"{entry.table}: {entry.rows_written} rows written but {entry.rows_present} present "
            f"after the run ({entry.rows_read} read, {entry.rows_skipped} skipped)"
        )


def _check_reference(
    destination: Destination,
    table: sync_pb2.TablePlan,
    ref: ml_pb2.ForeignKeyReference,
    name_destination: bool,
    verification: job_pb2.RunVerification,
) -> None:
    verification.references_checked += 1
    target = destination.target(table.schema, table.name)
    rows = destination.database.dangling(*target, destination_reference(destination, ref))
    if not rows:
        return
    found = verification.dangling.add(
        table=f"{table.schema}.{table.name}",
        columns=ref.columns,
        referenced_table=f"{ref.referenced_schema}.{ref.referenced_table}",
        referenced_columns=ref.referenced_columns,
        destination_connection_id=destination.plan.connection_id,
        rows=rows,
    )
    where = f" in destination {found.destination_connection_id}" if name_destination else ""
    verification.failures.append(
        f"{found.table} ({', '.join(found.columns)}) -> {found.referenced_table} "
        f"({', '.join(found.referenced_columns)}): {rows} rows dangle{where}"
    )
