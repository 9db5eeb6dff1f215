"""How runs end, counted from workflow code through the Temporal SDK's workflow meter.

The workflow is the one place that sees every outcome of a run, and this meter records
nothing while a worker replays history: a run is counted once, by the worker that ran its
last step. (An activity would add events to every run's history and runs at least once,
so could count a run twice; the API never sees a run end.) Served on the Temporal SDK's endpoint
(VEILSYNC_TEMPORAL_METRICS_PORT) as `veilsync_runs_total{kind,outcome,...}`; runs the server
ends without running workflow code (terminated, timed out) are in the server's own metrics.
"""

from typing import Literal

from temporalio import workflow

Outcome = Literal["succeeded", "failed", "cancelled"]


def count_run(kind: str, outcome: Outcome) -> None:
    """Count one run that ended; call from workflow code only."""
    runs = workflow.metric_meter().create_counter("veilsync_runs", "Runs ended, by outcome.")
    runs.add(1, {"kind": kind, "outcome": outcome})
