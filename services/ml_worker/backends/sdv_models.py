"""SDV's single-table synthesizers behind ModelBackend. SDV, CTGAN, Copulas and RDT are under
the Business Source License 1.1: only this module imports them.

CTGAN and TVAE run every epoch inside one fit call; a per-thread hook on their epoch loop
reports each epoch and stops a cancelled training. They restart from scratch on retry."""

import threading
from collections.abc import Iterable, Iterator
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd
import torch
from ctgan.synthesizers import ctgan as ctgan_module
from ctgan.synthesizers import tvae as tvae_module
from sdv.metadata import Metadata
from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer
from sdv.single_table.base import BaseSingleTableSynthesizer

from services.ml_worker.backends.base import FittedModel, TrainingHooks, TrainOptions
from services.ml_worker.spec import TableSpec

TABLE = "table"
_local = threading.local()


class _EpochLoop:
    """Stands in for tqdm over the epoch range: calls the thread's hook as each epoch ends."""

    def __init__(self, epochs: Iterable[int], *_: Any, **__: Any) -> None:
        self._epochs = list(epochs)

    def __iter__(self) -> Iterator[int]:
        hook = getattr(_local, "hook", None)
        for epoch in self._epochs:
            if hook is not None and epoch > 0:
                hook(epoch)
            yield epoch
        if hook is not None and self._epochs:
            hook(len(self._epochs))

    def set_description(self, *_: Any, **__: Any) -> None:
        pass


ctgan_module.tqdm = _EpochLoop
tvae_module.tqdm = _EpochLoop


class SdvModel:
    def __init__(self, synthesizer: BaseSingleTableSynthesizer) -> None:
        self._synthesizer = synthesizer

    def sample(self, rows: int, seed: int) -> pd.DataFrame:
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
        self._synthesizer.reset_sampling()
        result = self._synthesizer.sample(rows)
        return result[TABLE] if isinstance(result, dict) else result

    def state(self) -> dict[str, Any]:
        inner = getattr(self._synthesizer, "_model", None)
        if inner is not None and hasattr(inner, "set_device"):
            inner.set_device(torch.device("cpu"))  # a GPU-trained model samples on any worker
        return {"synthesizer": cloudpickle.dumps(self._synthesizer)}


class SdvBackend:
    resumable = False

    def __init__(self, name: str) -> None:
        self.name = name

    def fit(
        self,
        frame: pd.DataFrame,
        spec: TableSpec,
        options: TrainOptions,
        hooks: TrainingHooks,
        device: torch.device,
    ) -> FittedModel:
        np.random.seed(options.seed % 2**32)
        torch.manual_seed(options.seed)
        synthesizer = self.synthesizer(
            Metadata.load_from_dict({"tables": {TABLE: spec.sdv_metadata()}}), options, device
        )
        learned = frame[[c.name for c in spec.learned]]

        def on_epoch(epoch: int) -> None:
            hooks.epoch_done(epoch, _last_loss(synthesizer))

        _local.hook = on_epoch
        try:
            synthesizer.fit({TABLE: learned})
        finally:
            _local.hook = None
        if self.name == "gaussian_copula":
            hooks.epoch_done(1, 0.0)
        return SdvModel(synthesizer)

    def synthesizer(
        self, metadata: Metadata, options: TrainOptions, device: torch.device
    ) -> BaseSingleTableSynthesizer:
        gpu = device.type == "cuda"
        if self.name == "gaussian_copula":
            return GaussianCopulaSynthesizer(metadata)
        if self.name == "ctgan":
            batch = max(10, options.batch_size - options.batch_size % 10)
            return CTGANSynthesizer(
                metadata, epochs=options.epochs, batch_size=batch, enable_gpu=gpu
            )
        return TVAESynthesizer(
            metadata, epochs=options.epochs, batch_size=options.batch_size, enable_gpu=gpu
        )

    def load(self, state: dict[str, Any], spec: TableSpec, device: torch.device) -> FittedModel:
        synthesizer = cloudpickle.loads(state["synthesizer"])
        inner = getattr(synthesizer, "_model", None)
        if inner is not None and hasattr(inner, "set_device"):
            inner.set_device(device)
        return SdvModel(synthesizer)


def _last_loss(synthesizer: BaseSingleTableSynthesizer) -> float:
    inner = getattr(synthesizer, "_model", None)
    losses = getattr(inner, "loss_values", None)
    if not isinstance(losses, pd.DataFrame) or losses.empty:
        return 0.0
    column = "Loss" if "Loss" in losses.columns else "Generator Loss"
    last = losses[losses["Epoch"] == losses["Epoch"].max()]
    return float(last[column].astype(float).mean())
