from pathlib import Path

import pytest

from services.cli.jobfile import dump_job, load_job, parse_job
from services.common.errors import InvalidArgumentError
from veilsync.v1 import job_pb2

EXAMPLE = """\
name: shop-to-qa
source: {connection: prod}
destinations:
  - connection: qa
    truncate_before_insert: true
    init_schema: true
mappings:
  - table: public.customers
    columns:
      email: {transform_email: {preserve_domain: true}}
      first_name: {transform_first_name: {}}
      ssn: {null: {}}
"""


def test_example_job_file_loads() -> None:
    job = parse_job(EXAMPLE)
    assert job.name == "shop-to-qa"
    assert job.source.connection == "prod"
    (dest,) = job.destinations
    assert dest.connection == "qa" and dest.truncate_before_insert and dest.init_schema
    (mapping,) = job.mappings
    assert mapping.table == "public.customers"
    columns = mapping.columns
    assert set(columns) == {"email", "first_name", "ssn"}
    assert columns["email"].WhichOneof("config") == "transform_email"
    assert columns["email"].transform_email.preserve_domain
    assert columns["first_name"].WhichOneof("config") == "transform_first_name"
    assert columns["ssn"].WhichOneof("config") == "null"


@pytest.mark.parametrize("key", ["null", "true", "false", "on", "off", "yes", "no", "Null", "~"])
def test_keys_keep_their_source_text(key: str) -> None:
    job = parse_job(f"mappings:\n  - table: t\n    columns:\n      {key}: {{passthrough: {{}}}}\n")
    assert list(job.mappings[0].columns) == [key]


def test_values_keep_yaml_types() -> None:
    job = parse_job("name: x\nmax_parallel_tables: 3\n")
    assert job.max_parallel_tables == 3
    # `on` as a value is YAML's boolean, which a string field rejects; quoting is the fix.
    with pytest.raises(InvalidArgumentError, match=r"destinations\.connection: expected string"):
        parse_job("destinations: [{connection: on}]")
    job = parse_job("destinations: [{connection: 'on', init_schema: yes}]")
    assert job.destinations[0].connection == "on" and job.destinations[0].init_schema


def test_dump_round_trips() -> None:
    job = parse_job(EXAMPLE)
    assert parse_job(dump_job(job)) == job


def test_load_job_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(EXAMPLE)
    assert load_job(path, 1_000_000) == parse_job(EXAMPLE)


def test_missing_file_is_invalid_argument(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="cannot read"):
        load_job(tmp_path / "absent.yaml", 1_000_000)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: [shop\nsource: {}\n", "line 2"),
        ("name: x\n  source: y\n", "line 2"),
        ("name: a\nname: b\n", "duplicate key 'name'"),
    ],
)
def test_malformed_yaml_names_the_line(text: str, expected: str) -> None:
    with pytest.raises(InvalidArgumentError, match="malformed YAML") as info:
        parse_job(text, "job.yaml")
    assert expected in str(info.value)
    assert info.value.field == "job.yaml"


def test_unknown_field_is_named() -> None:
    # A name no proto field will take: real-sounding names (`schedule`) became fields.
    with pytest.raises(InvalidArgumentError, match="unknown field 'not_a_job_field'"):
        parse_job("name: x\nnot_a_job_field: daily\n")


def test_unknown_nested_field_is_named_with_its_path() -> None:
    with pytest.raises(InvalidArgumentError, match=r"unknown field 'conection' at Job\.source"):
        parse_job("source: {conection: prod}\n")


def test_unknown_transformer_is_named() -> None:
    text = "mappings:\n  - table: t\n    columns:\n      email: {transform_mail: {}}\n"
    with pytest.raises(InvalidArgumentError) as info:
        parse_job(text)
    message = str(info.value)
    assert "unknown transformer 'transform_mail'" in message
    assert "columns[email]" in message
    assert "transform_email" in message  # the known ones are listed


def test_wrong_value_type_is_invalid_argument() -> None:
    with pytest.raises(InvalidArgumentError, match="max_parallel_tables"):
        parse_job("max_parallel_tables: lots\n")


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n"])
def test_document_must_be_a_mapping(text: str) -> None:
    with pytest.raises(InvalidArgumentError, match="must be a mapping"):
        parse_job(text)


def test_complex_keys_are_rejected() -> None:
    with pytest.raises(InvalidArgumentError, match="plain name"):
        parse_job("? [a, b]\n: 1\n")


def test_empty_job_file_sections_are_allowed() -> None:
    assert parse_job("name: only-a-name\n") == job_pb2.Job(name="only-a-name")
