"""Job files: the proto3 JSON mapping of `veilsync.v1.Job`, written as YAML.

Keeping the file format a mapping of the proto means the file and the API cannot drift apart:
a field added to the proto is a field a job file may set, with no code here to change.
"""

import os
import re
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import json_format

from services.common.errors import InvalidArgumentError
from veilsync.v1 import job_pb2, transformer_pb2

_TRANSFORMERS = tuple(
    field.name
    for field in transformer_pb2.TransformerConfig.DESCRIPTOR.oneofs_by_name["config"].fields
)


class _JobFileLoader(yaml.SafeLoader):
    """SafeLoader whose mapping keys are the text written in the file.

    YAML 1.1 resolves the keys `null`, `true`, `on`, `no`... to None and booleans, but in a job
    file every key is a proto field name or a column name (`{null: {}}` is the Null
    transformer, a column may be called `on`), so keys keep their source text. Duplicate keys,
    which PyYAML would silently collapse, are an error.
    """

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping, found {node.tag}", node.start_mark
            )
        self.flatten_mapping(node)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    "a key must be a plain name",
                    key_node.start_mark,
                )
            key = str(key_node.value)
            if key in mapping:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


_JobFileLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _JobFileLoader.construct_mapping
)


def _yaml_error(source: str, err: yaml.YAMLError) -> InvalidArgumentError:
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "?"
    return InvalidArgumentError(source, f"malformed YAML at {where}: {problem}")


_UNKNOWN_FIELD = re.compile(
    r'Message type "(?P<type>[\w.]+)" has no field named "(?P<field>[^"]*)" at "(?P<at>[^"]*)"'
)

_FAILED_FIELD = re.compile(r"Failed to parse (\w+) field: ")


def _parse_error(source: str, err: json_format.ParseError) -> InvalidArgumentError:
    # json_format appends the list of available fields and nests "Failed to parse X field:"
    # once per level; the innermost problem and its path are what a user needs.
    message = str(err).splitlines()[0].strip()
    unknown = _UNKNOWN_FIELD.search(message)
    if unknown is None:
        path = _FAILED_FIELD.findall(message)
        problem = _FAILED_FIELD.sub("", message).rstrip(".")
        return InvalidArgumentError(source, f"{'.'.join(path)}: {problem}" if path else problem)
    field, at = unknown["field"], unknown["at"]
    if unknown["type"] == transformer_pb2.TransformerConfig.DESCRIPTOR.full_name:
        known = ", ".join(_TRANSFORMERS)
        return InvalidArgumentError(
            source, f"unknown transformer {field!r} at {at}; known transformers: {known}"
        )
    return InvalidArgumentError(source, f"unknown field {field!r} at {at}")


def parse_job(text: str, source: str = "job file") -> job_pb2.Job:
    """The job a YAML document describes; InvalidArgumentError naming the first problem."""
    try:
        document = yaml.load(text, Loader=_JobFileLoader)  # a SafeLoader subclass: no objects
    except yaml.YAMLError as err:
        raise _yaml_error(source, err) from err
    if not isinstance(document, dict):
        raise InvalidArgumentError(source, "a job file must be a mapping with name, source, ...")
    job = job_pb2.Job()
    try:
        json_format.ParseDict(document, job)
    except json_format.ParseError as err:
        raise _parse_error(source, err) from err
    return job


def _read(path: Path, max_bytes: int) -> str:
    """The file's text; a file over max_bytes is refused without reading past the limit."""
    try:
        with path.open("rb") as file:
            data = file.read(max_bytes + 1)
            size = max(os.fstat(file.fileno()).st_size, len(data))
        if len(data) > max_bytes:
            raise InvalidArgumentError(
                str(path),
                f"the job file is {size:,} bytes, over the limit of {max_bytes:,} bytes "
                "(VEILSYNC_MAX_JOB_BYTES)",
            )
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidArgumentError(str(path), f"cannot read the job file: {err}") from err


def load_job(path: Path, max_bytes: int) -> job_pb2.Job:
    """The job in a YAML file of at most max_bytes; InvalidArgumentError when it is bigger or
    cannot be read or parsed."""
    return parse_job(_read(path, max_bytes), str(path))


def load_job_fields(path: Path, max_bytes: int) -> tuple[job_pb2.Job, list[str]]:
    """The job in a YAML file and the top-level fields the file writes, in file order.

    A partial update needs the fields as written: the message alone cannot tell
    `allow_overlap: false` from a file that leaves allow_overlap out.
    """
    text = _read(path, max_bytes)
    job = parse_job(text, str(path))
    document = yaml.load(text, Loader=_JobFileLoader)  # parse_job proved it is a mapping
    return job, [str(key) for key in document]


def job_to_dict(job: job_pb2.Job) -> dict[str, Any]:
    """The job's proto3 JSON mapping with the proto's own field names, as job files use."""
    return json_format.MessageToDict(job, preserving_proto_field_name=True)


def dump_job(job: job_pb2.Job) -> str:
    """The job as a job file that `parse_job` reads back to an equal message."""
    return yaml.safe_dump(job_to_dict(job), sort_keys=False, default_flow_style=False)
