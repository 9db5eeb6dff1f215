"""Field-mask updates of a job: named fields replaced whole, everything else kept."""

import pytest
from google.protobuf import duration_pb2, field_mask_pb2

from services.api import validation
from services.api.mapping.jobs import apply_update
from services.common.errors import InvalidArgumentError
from veilsync.v1 import job_pb2, transformer_pb2


def current_job() -> job_pb2.Job:
    job = job_pb2.Job(
        id="job-1",
        name="nightly",
        source=job_pb2.JobSource(connection="prod", subset_by_foreign_keys=True),
        destinations=[
            job_pb2.JobDestination(connection="qa", truncate_before_insert=True),
            job_pb2.JobDestination(connection="dev"),
        ],
        max_parallel_tables=8,
        schedule="0 3 * * *",
        allow_overlap=True,
        paused=True,
        run_options=job_pb2.RunOptions(run_timeout=duration_pb2.Duration(seconds=3600)),
        hooks=[job_pb2.RunHook(url="https://hooks.example.com/a")],
    )
    mapping = job.mappings.add(table="public.users")
    mapping.columns["email"].CopyFrom(
        transformer_pb2.TransformerConfig(transform_email=transformer_pb2.TransformEmail())
    )
    job.create_time.FromSeconds(1_700_000_000)
    return job


def test_only_the_named_fields_change() -> None:
    current = current_job()
    update = job_pb2.Job(
        name="renamed",  # not in the mask: ignored
        schedule="@hourly",
        max_parallel_tables=2,
        destinations=[job_pb2.JobDestination(connection="staging")],
    )
    merged = apply_update(current, update, ["schedule", "destinations"])
    assert merged.schedule == "@hourly"
    assert [d.connection for d in merged.destinations] == ["staging"]  # replaced, not appended
    assert merged.name == "nightly"
    assert merged.max_parallel_tables == 8
    assert merged.mappings == current.mappings
    assert merged.create_time == current.create_time
    assert merged.paused


def test_the_current_job_is_left_untouched() -> None:
    current = current_job()
    before = current.SerializeToString(deterministic=True)
    apply_update(current, job_pb2.Job(schedule=""), ["schedule", "hooks", "source"])
    assert current.SerializeToString(deterministic=True) == before


def test_named_fields_left_empty_in_the_update_are_cleared() -> None:
    merged = apply_update(
        current_job(),
        job_pb2.Job(),
        ["schedule", "allow_overlap", "hooks", "mappings", "run_options", "max_parallel_tables"],
    )
    assert merged.schedule == ""
    assert not merged.allow_overlap
    assert not merged.hooks
    assert not merged.mappings
    assert not merged.HasField("run_options")
    assert merged.max_parallel_tables == 0
    assert merged.source.connection == "prod"


def test_a_message_field_is_replaced_whole_not_merged() -> None:
    update = job_pb2.Job(
        source=job_pb2.JobSource(connection="replica"),
        run_options=job_pb2.RunOptions(activity_max_attempts=3),
    )
    merged = apply_update(current_job(), update, ["source", "run_options"])
    assert merged.source == job_pb2.JobSource(connection="replica")
    assert not merged.source.subset_by_foreign_keys
    assert merged.run_options == job_pb2.RunOptions(activity_max_attempts=3)
    assert not merged.run_options.HasField("run_timeout")


def test_map_entries_of_repeated_mappings_are_replaced() -> None:
    update = job_pb2.Job()
    mapping = update.mappings.add(table="public.orders")
    mapping.columns["note"].CopyFrom(transformer_pb2.TransformerConfig(null=transformer_pb2.Null()))
    merged = apply_update(current_job(), update, ["mappings"])
    assert [m.table for m in merged.mappings] == ["public.orders"]
    assert set(merged.mappings[0].columns) == {"note"}


def test_an_empty_mask_updates_every_updatable_field() -> None:
    paths = validation.update_paths(field_mask_pb2.FieldMask())
    merged = apply_update(current_job(), job_pb2.Job(schedule="@daily"), paths)
    assert merged.schedule == "@daily"
    assert not merged.destinations and not merged.hooks and not merged.HasField("source")
    # Identity, timestamps and the paused flag are not the caller's to change.
    assert (merged.id, merged.name, merged.paused) == ("job-1", "nightly", True)
    assert merged.create_time.seconds == 1_700_000_000


def test_a_mask_naming_a_field_twice_applies_it_once() -> None:
    paths = validation.update_paths(field_mask_pb2.FieldMask(paths=["hooks", "hooks"]))
    assert paths == ["hooks"]
    update = job_pb2.Job(hooks=[job_pb2.RunHook(url="https://b.example.com")])
    merged = apply_update(current_job(), update, paths)
    assert [h.url for h in merged.hooks] == ["https://b.example.com"]


@pytest.mark.parametrize("path", ["id", "name", "paused", "create_time", "hooks.url", "nope"])
def test_a_mask_naming_a_read_only_or_unknown_field_is_refused(path: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        validation.update_paths(field_mask_pb2.FieldMask(paths=[path]))
    assert caught.value.field == "update_mask"
