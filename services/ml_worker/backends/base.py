"""The port every model family implements. Backends see only the learned columns; keys and
PII columns are generated around them (services.ml_worker.synthesis)."""

from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd
import torch

from services.ml_worker.spec import TableSpec


@dataclass(frozen=True)
class TrainOptions:
    epochs: int
    batch_size: int
    seed: int


class TrainingHooks(Protocol):
    def epoch_done(self, epoch: int, loss: float) -> None:
        """After each epoch (1-based): heartbeat and report; raises CancelledError when the
        activity was cancelled."""

    def still_running(self) -> None:
        """Between steps of a long epoch: raises CancelledError when cancelled."""

    def save_checkpoint(self, state: dict[str, Any]) -> None: ...

    def load_checkpoint(self) -> dict[str, Any] | None: ...


class FittedModel(Protocol):
    def sample(self, rows: int, seed: int) -> pd.DataFrame:
        """`rows` rows of the learned columns."""

    def state(self) -> dict[str, Any]:
        """Everything needed to sample again, tensors on the CPU."""


class ModelBackend(Protocol):
    name: str
    # Whether a retried training resumes from the last epoch checkpoint.
    resumable: bool

    def fit(
        self,
        frame: pd.DataFrame,
        spec: TableSpec,
        options: TrainOptions,
        hooks: TrainingHooks,
        device: torch.device,
    ) -> FittedModel: ...

    def load(self, state: dict[str, Any], spec: TableSpec, device: torch.device) -> FittedModel: ...
