"""The algorithm version of each transformer a job applies: recorded when the job is saved,
checked each time a run plans, so that a worker never writes outputs unlike the job's earlier
runs' (a destination synced before would no longer join with rows synced after)."""

from collections.abc import Iterable, Mapping

from services.common.errors import FailedPreconditionError
from services.engine.transformers.builtin import CATALOG
from veilsync.temporal.v1 import generate_pb2, sync_pb2
from veilsync.v1 import transformer_pb2

REPIN = "transformer_versions"


def check_versions(recorded: Mapping[str, int]) -> None:
    """FailedPreconditionError naming every transformer whose recorded version this code does
    not implement, with both versions."""
    unlike = []
    for name, version in sorted(recorded.items()):
        cls = CATALOG.get(name)
        if cls is None:
            unlike.append(f"{name} version {version} (this worker has no {name})")
        elif cls.version != version:
            unlike.append(f"{name} version {version} (this worker implements {cls.version})")
    if unlike:
        raise FailedPreconditionError(
            f"the job records transformer versions this worker does not implement: "
            f"{'; '.join(unlike)}. Its outputs would not match the job's earlier runs: run it "
            "on a worker that implements them, or record the current versions with UpdateJob "
            f"(update_mask: {REPIN}) and accept outputs unlike earlier runs'"
        )


def sync_versions(plan: sync_pb2.SyncPlan) -> dict[str, int]:
    """Versions of the transformers a sync plan applies, by name."""
    return _versions(
        column.transformer
        for table in plan.tables
        for column in table.columns
        if column.HasField("transformer")
    )


def generate_versions(plan: generate_pb2.GeneratePlan) -> dict[str, int]:
    """Versions of the generators of a generate plan (and of its sync plan's transformers)."""
    generators = (
        column.generator
        for table in plan.tables
        for column in table.columns
        if column.WhichOneof("values") == "generator"
    )
    return {**sync_versions(plan.sync), **_versions(generators)}


def _versions(configs: Iterable[transformer_pb2.TransformerConfig]) -> dict[str, int]:
    names = {config.WhichOneof("config") for config in configs}
    return {name: CATALOG[name].version for name in sorted(n for n in names if n in CATALOG)}
