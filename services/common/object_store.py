"""Object storage by key ("account/model/name"): a local directory (the embedded default) or
any S3-compatible store, chosen by VEILSYNC_ARTIFACT_STORE. Files stream through bounded
memory (spooled to a temporary file past SPOOL_BYTES), so a model of any size fits."""

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol, cast
from urllib.parse import urlsplit

from services.common.errors import InvalidArgumentError

# Past this many bytes a file in transit lives in a temporary file, not in memory.
SPOOL_BYTES = 8 << 20
# S3's DeleteObjects takes at most 1000 keys per call.
_DELETE_BATCH = 1000


class ObjectStore(Protocol):
    """Where model files live. A missing key reads as FileNotFoundError in every store."""

    # Said in logs: a directory or an s3:// URL, never a credential.
    location: str

    def writing(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A writable file that appears under `key` only when the block exits without error."""
        ...

    def reading(self, key: str) -> AbstractContextManager[BinaryIO]:
        """The object as a seekable binary file (torch.load and zipfile seek)."""
        ...

    def local_file(self, key: str) -> AbstractContextManager[Path]:
        """The object as a file on this host, for libraries that only open paths (onnxruntime,
        torch.jit.load); valid inside the block."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the object; a missing one is not an error."""
        ...

    def delete_prefix(self, prefix: str) -> None:
        """Remove every object under `prefix/`."""
        ...

    def list(self, prefix: str) -> list[str]:
        """The keys under `prefix/`, sorted."""
        ...

    def move(self, source: str, target: str) -> None: ...


def check_key(key: str) -> str:
    """Keys are relative, slash-separated and free of '.' and '..' segments, so that no key
    reaches outside its store or names two objects."""
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts):
        raise InvalidArgumentError("key", "outside the model store")
    return key


class LocalObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)

    def path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root.resolve()):  # a symlink pointing out
            raise InvalidArgumentError("key", "outside the model store")
        return path

    @contextmanager
    def writing(self, key: str) -> Iterator[BinaryIO]:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
        try:
            with partial.open("wb") as out:
                yield out
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)

    @contextmanager
    def reading(self, key: str) -> Iterator[BinaryIO]:
        with self.path(key).open("rb") as source:
            yield source

    @contextmanager
    def local_file(self, key: str) -> Iterator[Path]:
        path = self.path(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        yield path

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        shutil.rmtree(self.path(prefix), ignore_errors=True)

    def list(self, prefix: str) -> list[str]:
        base = self.path(prefix)
        root = self.root.resolve()
        return sorted(
            p.relative_to(root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.endswith(".partial")
        )

    def move(self, source: str, target: str) -> None:
        destination = self.path(target)
        destination.parent.mkdir(parents=True, exist_ok=True)
        self.path(source).replace(destination)


class S3ObjectStore:
    """Objects under s3://bucket/prefix/ on AWS S3, MinIO, Ceph or any S3-compatible server.
    Credentials and region come from boto3's usual chain (AWS_ACCESS_KEY_ID, ...)."""

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str = "") -> None:
        import boto3  # only processes that use S3 pay for importing it

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.location = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self._client: Any = boto3.client("s3", endpoint_url=endpoint_url or None)

    def _name(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextmanager
    def writing(self, key: str) -> Iterator[BinaryIO]:
        name = self._name(key)
        # Spooled, then uploaded whole: S3 objects appear atomically, so a reader never sees
        # a partial model, and upload_fileobj goes multipart for large files.
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            yield cast(BinaryIO, spool)
            spool.seek(0)
            self._client.upload_fileobj(spool, self.bucket, name)

    @contextmanager
    def reading(self, key: str) -> Iterator[BinaryIO]:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            self._download(key, spool)
            spool.seek(0)
            yield cast(BinaryIO, spool)

    @contextmanager
    def local_file(self, key: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="veilsync-object-") as folder:
            path = Path(folder) / key.rsplit("/", 1)[-1]
            with path.open("wb") as out:
                self._download(key, out)
            yield path

    def _download(self, key: str, out: IO[bytes]) -> None:
        from botocore.exceptions import ClientError

        try:
            self._client.download_fileobj(self.bucket, self._name(key), out)
        except ClientError as err:
            if _missing(err):
                raise FileNotFoundError(key) from err
            raise

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as err:
            if _missing(err):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def delete_prefix(self, prefix: str) -> None:
        keys = self.list(prefix)
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = [{"Key": self._name(k)} for k in keys[start : start + _DELETE_BATCH]]
            self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})

    def list(self, prefix: str) -> list[str]:
        base = self._name(prefix) + "/"
        strip = len(self.prefix) + 1 if self.prefix else 0
        keys: list[str] = []
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=base
        )
        for page in pages:
            keys.extend(item["Key"][strip:] for item in page.get("Contents", []))
        return sorted(keys)

    def move(self, source: str, target: str) -> None:
        # S3 has no rename: a managed copy (multipart past 5 GB), then the delete.
        self._client.copy(
            {"Bucket": self.bucket, "Key": self._name(source)}, self.bucket, self._name(target)
        )
        self.delete(source)


def _missing(err: Exception) -> bool:
    code = str(getattr(err, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


def open_object_store(url: str, local_root: Path, endpoint_url: str = "") -> ObjectStore:
    """The store a VEILSYNC_ARTIFACT_STORE value names: empty or a path for a local directory
    (local_root when empty), s3://bucket[/prefix] for S3."""
    if not url:
        return LocalObjectStore(local_root)
    parts = urlsplit(url)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise InvalidArgumentError("artifact_store", "s3:// URL without a bucket")
        return S3ObjectStore(parts.netloc, parts.path, endpoint_url)
    if parts.scheme in ("", "file"):
        return LocalObjectStore(Path(parts.path))
    raise InvalidArgumentError(
        "artifact_store", f"unsupported scheme {parts.scheme!r}: use a path or s3://bucket/prefix"
    )
