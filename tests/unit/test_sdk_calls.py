"""The requests the SDK builds, checked without a server."""

import hashlib
import json
from pathlib import Path

import pytest
from google.protobuf import json_format

from veilsync.v1 import connection_pb2, job_pb2, model_pb2
from veilsync_sdk.calls import connections, jobs, models
from veilsync_sdk.calls.base import job_ref

EXAMPLE_JOB = Path(__file__).resolve().parents[2] / "sdk" / "python" / "examples" / "job.json"


def test_a_string_names_a_job_and_a_message_gives_its_id() -> None:
    assert job_ref("nightly") == job_pb2.JobRef(name="nightly")
    assert job_ref(job_pb2.Job(id="j-1", name="nightly")) == job_pb2.JobRef(id="j-1")
    assert job_ref(job_pb2.JobRef(id="j-2")) == job_pb2.JobRef(id="j-2")


def test_the_example_job_file_is_a_job() -> None:
    request = jobs.create_job(json.loads(EXAMPLE_JOB.read_text()), transform_key="k" * 16)
    job = request.request.job
    assert job.destinations[0].init_schema and job.source.connection == "shop-prod"
    assert job.mappings[0].columns["ssn"].WhichOneof("config") == "null"
    assert request.long  # CreateJob reads the source's schema


def test_an_unknown_job_field_is_refused_before_sending() -> None:
    with pytest.raises(json_format.ParseError, match="shoe_size"):
        jobs.create_job({"name": "x", "shoe_size": 44})


def test_check_takes_a_stored_connection_or_a_url() -> None:
    by_name = connections.check_connection("prod").request
    assert by_name.connection == connection_pb2.ConnectionRef(name="prod")
    assert connections.check_connection(url="sqlite:///x.db").request.url == "sqlite:///x.db"
    with pytest.raises(ValueError, match="one of the two"):
        connections.check_connection("prod", url="sqlite:///x.db")


def test_an_upload_is_its_metadata_then_the_file_in_chunks() -> None:
    data = bytes(range(256)) * (5 * models.UPLOAD_CHUNK_BYTES // 512)  # 2.5 chunks
    call = models.upload_model(
        "gen", data, format=model_pb2.MODEL_FORMAT_ONNX, columns={"id": "integer", "x": "float"}
    )
    first, *rest = list(call.request)
    assert first.metadata.sha256 == hashlib.sha256(data).hexdigest()
    assert first.metadata.size_bytes == len(data)
    assert [(c.name, c.type) for c in first.metadata.columns] == [
        ("id", model_pb2.MODEL_COLUMN_TYPE_INTEGER),
        ("x", model_pb2.MODEL_COLUMN_TYPE_FLOAT),
    ]
    assert len(rest) == 3 and b"".join(part.chunk for part in rest) == data


def test_a_sample_goes_into_a_table_or_comes_back() -> None:
    preview = models.sample_model(model_pb2.Model(id="m-1"), 5, seed=2).request
    assert preview.id == "m-1" and preview.preview and preview.seed == 2
    into = models.sample_model("m-1", 50, into=("qa", "public.orders")).request
    assert into.WhichOneof("target") == "destination"
    assert (into.destination.connection, into.destination.table) == ("qa", "public.orders")
