"""The model store's files: a local directory by default (VEILSYNC_MODELS_DIR, else
data_dir/models), shared by the API (uploads) and the ML workers (artifacts). Torch-free."""

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from services.common.errors import InvalidArgumentError
from services.common.settings import Settings

DEFAULT_UPLOAD_LIMIT = 512 << 20
UPLOAD_FILE = "upload"  # an uploaded TorchScript or ONNX file, byte for byte


def models_dir(settings: Settings) -> Path:
    configured = os.environ.get("VEILSYNC_MODELS_DIR", "")
    return Path(configured) if configured else settings.data_dir / "models"


class ModelFiles:
    """Files by key ("account/model/name"); keys never leave this class as paths."""

    def __init__(self, root: Path, upload_limit: int = DEFAULT_UPLOAD_LIMIT) -> None:
        self.root = root
        self.upload_limit = upload_limit

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise InvalidArgumentError("key", "outside the model store")
        return path

    def model_key(self, account_id: str, model_id: str, name: str) -> str:
        return f"{account_id}/{model_id}/{name}"

    @contextmanager
    def writing(self, key: str) -> Iterator[BinaryIO]:
        """A file that appears under `key` only when the block exits without error."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
        try:
            with partial.open("wb") as out:
                yield out
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def move(self, source_key: str, target_key: str) -> None:
        target = self.path(target_key)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.path(source_key).replace(target)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_model(self, account_id: str, model_id: str) -> None:
        shutil.rmtree(self.path(f"{account_id}/{model_id}"), ignore_errors=True)

    def sha256(self, key: str) -> str:
        digest = hashlib.sha256()
        with self.path(key).open("rb") as source:
            for block in iter(lambda: source.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def staging_key(self) -> str:
        return f"staging/{uuid.uuid4().hex}"
