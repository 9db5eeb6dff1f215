"""Replays committed histories against today's workflow code: a change that would break
running workflows fails here as nondeterminism. No database or server needed.

Re-record (`python -m tests.replay.record`) only for a deliberate change that old runs need
not survive, and say so in the commit; see tests/replay/record.py."""

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from services.ml_worker.workflows import (
    SampleModelWorkflow,
    TrainModelWorkflow,
    ValidateUploadWorkflow,
)
from services.sync_worker.generate_workflow import GenerateWorkflow
from services.sync_worker.workflows import DataSyncWorkflow

HISTORIES = Path(__file__).parent / "histories"
# The *_before_verification histories were recorded before runs verified their result: runs
# started then must still finish (the verify step is behind workflow.patched).
RECORDED = [
    "generate_succeeded",
    "sync_failed",
    "sync_failed_before_verification",
    "sync_succeeded",
    "sync_succeeded_before_verification",
]
WORKFLOWS = [
    DataSyncWorkflow,
    GenerateWorkflow,
    TrainModelWorkflow,
    SampleModelWorkflow,
    ValidateUploadWorkflow,
]


def test_every_recorded_history_is_committed() -> None:
    assert sorted(p.stem for p in HISTORIES.glob("*.json")) == RECORDED


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_history_replays_deterministically(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await Replayer(workflows=WORKFLOWS).replay_workflow(history)
    assert result.replay_failure is None
