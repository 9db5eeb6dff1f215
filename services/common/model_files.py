"""The model store's files: trained models, checkpoints and uploads by key in an object store
(services.common.object_store), shared by the API (uploads) and the ML workers (artifacts).
Torch-free."""

import hashlib
import uuid
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO

from services.common.object_store import ObjectStore, open_object_store
from services.common.settings import Settings

DEFAULT_UPLOAD_LIMIT = 512 << 20
UPLOAD_FILE = "upload"  # an uploaded TorchScript or ONNX file, byte for byte


def models_dir(settings: Settings) -> Path:
    return settings.models_dir or settings.data_dir / "models"


def open_model_files(settings: Settings) -> "ModelFiles":
    """The model files every process of a deployment shares: VEILSYNC_ARTIFACT_STORE, else
    the local models_dir."""
    return ModelFiles(
        open_object_store(settings.artifact_store, models_dir(settings), settings.s3_endpoint_url)
    )


class ModelFiles:
    """Model files by key ("account/model/name"), in whichever store the deployment uses."""

    def __init__(self, store: ObjectStore, upload_limit: int = DEFAULT_UPLOAD_LIMIT) -> None:
        self.store = store
        self.upload_limit = upload_limit

    def model_key(self, account_id: str, model_id: str, name: str) -> str:
        return f"{account_id}/{model_id}/{name}"

    def writing(self, key: str) -> AbstractContextManager[BinaryIO]:
        return self.store.writing(key)

    def reading(self, key: str) -> AbstractContextManager[BinaryIO]:
        return self.store.reading(key)

    def local_file(self, key: str) -> AbstractContextManager[Path]:
        return self.store.local_file(key)

    def exists(self, key: str) -> bool:
        return self.store.exists(key)

    def move(self, source_key: str, target_key: str) -> None:
        self.store.move(source_key, target_key)

    def delete(self, key: str) -> None:
        self.store.delete(key)

    def delete_model(self, account_id: str, model_id: str) -> None:
        self.store.delete_prefix(f"{account_id}/{model_id}")

    def sha256(self, key: str) -> str:
        digest = hashlib.sha256()
        with self.reading(key) as source:
            for block in iter(lambda: source.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def staging_key(self) -> str:
        return f"staging/{uuid.uuid4().hex}"
