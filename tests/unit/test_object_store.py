"""The object store's contract, held by the local directory and by an S3-compatible server
(moto's server mode, started by the test): the same calls, the same answers."""

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from services.common.errors import InvalidArgumentError
from services.common.model_files import ModelFiles, open_model_files
from services.common.object_store import (
    SPOOL_BYTES,
    LocalObjectStore,
    ObjectStore,
    S3ObjectStore,
    open_object_store,
)
from services.common.settings import Settings
from tests.s3_server import BUCKET, s3_endpoint

__all__ = ["s3_endpoint"]  # the fixture, imported for pytest

StoreFactory = Callable[[], ObjectStore]


@pytest.fixture(params=["local", "s3"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """Makes independent store instances over the same storage, as separate hosts would."""
    if request.param == "local":
        return lambda: LocalObjectStore(tmp_path / "models")
    endpoint: str = request.getfixturevalue("s3_endpoint")
    return lambda: S3ObjectStore(BUCKET, "deploy/models", endpoint)


def _put(store: ObjectStore, key: str, data: bytes) -> None:
    with store.writing(key) as out:
        out.write(data)


def test_objects_round_trip_list_move_and_delete(new_store: StoreFactory) -> None:
    writer, reader = new_store(), new_store()
    _put(writer, "acct/m1/model.pt", b"weights")
    _put(writer, "acct/m1/checkpoint.pt", b"epoch 3")
    _put(writer, "acct/m2/upload", b"onnx")
    assert reader.exists("acct/m1/model.pt") and not reader.exists("acct/m1/missing")
    with reader.reading("acct/m1/model.pt") as source:
        assert source.read() == b"weights"
    with reader.local_file("acct/m2/upload") as path:
        assert path.read_bytes() == b"onnx"
    assert reader.list("acct/m1") == ["acct/m1/checkpoint.pt", "acct/m1/model.pt"]
    reader.move("acct/m2/upload", "acct/m3/upload")
    assert not writer.exists("acct/m2/upload") and writer.exists("acct/m3/upload")
    reader.delete("acct/m1/checkpoint.pt")
    reader.delete("acct/m1/checkpoint.pt")  # deleting twice is no error
    writer.delete_prefix("acct/m1")
    assert writer.list("acct") == ["acct/m3/upload"]


def test_a_failed_write_leaves_no_object(new_store: StoreFactory) -> None:
    store = new_store()
    with pytest.raises(RuntimeError), store.writing("acct/m/model.pt") as out:
        out.write(b"half a model")
        raise RuntimeError("training crashed")
    assert not store.exists("acct/m/model.pt")
    assert store.list("acct") == []


def test_a_missing_object_reads_as_file_not_found(new_store: StoreFactory) -> None:
    store = new_store()
    with pytest.raises(FileNotFoundError), store.reading("acct/none/model.pt"):
        pass
    with pytest.raises(FileNotFoundError), store.local_file("acct/none/upload"):
        pass


@pytest.mark.parametrize("key", ["../escape", "acct/../../etc/passwd", "/abs", "a//b", "a/./b"])
def test_keys_cannot_leave_the_store(new_store: StoreFactory, key: str) -> None:
    with pytest.raises(InvalidArgumentError):
        new_store().exists(key)


def test_a_large_file_streams_through_bounded_memory(new_store: StoreFactory) -> None:
    # Past the spool size (so it goes through a temporary file) and past boto3's 8 MiB
    # multipart threshold (so S3 receives it in parts).
    data = os.urandom(2 * SPOOL_BYTES + 12345)
    files = ModelFiles(new_store())
    with files.writing("acct/big/model.pt") as out:
        for start in range(0, len(data), 1 << 20):
            out.write(data[start : start + (1 << 20)])
    assert ModelFiles(new_store()).sha256("acct/big/model.pt") == hashlib.sha256(data).hexdigest()


def test_settings_choose_the_store(tmp_path: Path, s3_endpoint: str) -> None:
    local = open_model_files(Settings(data_dir=tmp_path))
    assert local.store.location == str(tmp_path / "models")
    remote = open_model_files(
        Settings(artifact_store=f"s3://{BUCKET}/prefix", s3_endpoint_url=s3_endpoint)
    )
    assert remote.store.location == f"s3://{BUCKET}/prefix"
    with remote.writing("a/m/model.pt") as out:
        out.write(b"x")
    assert S3ObjectStore(BUCKET, "", s3_endpoint).list("prefix") == ["prefix/a/m/model.pt"]
    with pytest.raises(InvalidArgumentError, match="unsupported scheme"):
        open_object_store("gs://bucket", tmp_path)
