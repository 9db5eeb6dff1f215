"""A table whose structure is known, to measure synthetic data against, and a model that copies
its training rows: the two ends of what a model's evaluation must tell apart."""

from typing import Any

import numpy as np
import pandas as pd
import torch

from services.ml_worker.backends.base import FittedModel, TrainingHooks, TrainOptions
from services.ml_worker.spec import TableSpec

ROWS = 2_000
# The SDMetrics quality a model must reach on the measurements' holdout. Real rows score about
# 0.95 against it (the ceiling: sampling noise on 400 rows); a model that learns every column
# but no relation between them scores about 0.73 (test_ml_evaluation checks it stays under);
# a gaussian copula, which can learn y = 2x and a band cut on x, scores 0.86 to 0.90 over ten
# splits. 0.80 is halfway from the relation-blind model to the ceiling.
QUALITY_FLOOR = 0.80
MEASUREMENTS_SQL = """
CREATE TABLE measurements (
    id integer PRIMARY KEY,
    x double precision NOT NULL,
    y double precision NOT NULL,
    band text NOT NULL
)
"""


def measurements(rows: int = ROWS, seed: int = 7) -> pd.DataFrame:
    """x uniform on [0, 100); y = 2x + normal noise of sd 5; band "low" below 50, else "high"."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 100, rows)
    return pd.DataFrame(
        {
            "id": pd.array(range(1, rows + 1), dtype="Int64"),
            "x": x,
            "y": 2 * x + rng.normal(0, 5, rows),
            "band": np.where(x < 50, "low", "high").astype(object),
        }
    )


class CopyingModel:
    """Samples its training rows verbatim: the most a model can memorize."""

    def __init__(self, rows: pd.DataFrame) -> None:
        self._rows = rows.reset_index(drop=True)

    def sample(self, rows: int, seed: int) -> pd.DataFrame:
        picks = np.random.default_rng(seed).integers(0, len(self._rows), rows)
        return self._rows.iloc[picks].reset_index(drop=True)

    def state(self) -> dict[str, Any]:
        return {"rows": self._rows}


class CopyingBackend:
    """A model family for the ML worker whose models are CopyingModels."""

    name = "copying"
    resumable = False

    def fit(
        self,
        frame: pd.DataFrame,
        spec: TableSpec,
        options: TrainOptions,
        hooks: TrainingHooks,
        device: torch.device,
    ) -> FittedModel:
        hooks.epoch_done(1, 0.0)
        return CopyingModel(frame[[c.name for c in spec.learned]])

    def load(self, state: dict[str, Any], spec: TableSpec, device: torch.device) -> FittedModel:
        return CopyingModel(state["rows"])
