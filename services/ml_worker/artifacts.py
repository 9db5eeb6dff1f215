"""The artifact store: trained models and their epoch checkpoints as torch files in the model
store. Tensors are saved on the CPU and loaded with map_location, so a model trained on a GPU
samples on a CPU worker. Only files this process wrote are loaded this way: uploads go through
services.ml_worker.uploads, which never unpickles."""

import hashlib
import io
from typing import Any

import torch

from services.common.model_files import UPLOAD_FILE, ModelFiles

__all__ = ["UPLOAD_FILE", "ArtifactStore"]

MODEL_FILE = "model.pt"
CHECKPOINT_FILE = "checkpoint.pt"
FORMAT_VERSION = 1


class ArtifactStore:
    def __init__(self, files: ModelFiles, device: torch.device) -> None:
        self.files = files
        self.device = device

    def save_model(
        self, account_id: str, model_id: str, payload: dict[str, Any]
    ) -> tuple[str, int]:
        """Write the model; returns its sha256 and size, taken from the bytes written."""
        key = self.files.model_key(account_id, model_id, MODEL_FILE)
        data = self._save(key, {"format_version": FORMAT_VERSION, **payload})
        return hashlib.sha256(data).hexdigest(), len(data)

    def load_model(self, account_id: str, model_id: str) -> dict[str, Any]:
        return self._load(self.files.model_key(account_id, model_id, MODEL_FILE))

    def save_checkpoint(self, account_id: str, model_id: str, state: dict[str, Any]) -> None:
        self._save(self.files.model_key(account_id, model_id, CHECKPOINT_FILE), state)

    def load_checkpoint(self, account_id: str, model_id: str) -> dict[str, Any] | None:
        key = self.files.model_key(account_id, model_id, CHECKPOINT_FILE)
        return self._load(key) if self.files.exists(key) else None

    def drop_checkpoint(self, account_id: str, model_id: str) -> None:
        self.files.delete(self.files.model_key(account_id, model_id, CHECKPOINT_FILE))

    def _save(self, key: str, payload: dict[str, Any]) -> bytes:
        """Write the payload; returns the bytes written."""
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        data = buffer.getvalue()
        with self.files.writing(key) as out:
            out.write(data)
        return data

    def _load(self, key: str) -> dict[str, Any]:
        with self.files.reading(key) as source:
            loaded: dict[str, Any] = torch.load(
                source, map_location=self.device, weights_only=False
            )
        return loaded
