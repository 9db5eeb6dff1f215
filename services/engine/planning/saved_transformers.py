"""User-defined transformers in mappings: a column mapped `user_defined: NAME` gets the config
saved under NAME. The engine does not know where configs are saved; the API and the sync
worker pass a lookup in (the metadata store), and everything after this step sees only
built-in transformers."""

from collections.abc import Callable

from services.common.errors import InvalidArgumentError
from veilsync.v1 import job_pb2, transformer_pb2

Lookup = Callable[[str], transformer_pb2.TransformerConfig | None]


def uses_saved(job: job_pb2.Job) -> bool:
    return any(
        config.WhichOneof("config") == "user_defined"
        for mapping in job.mappings
        for config in mapping.columns.values()
    )


def resolve_saved(job: job_pb2.Job, lookup: Lookup) -> job_pb2.Job:
    """A copy of `job` whose user_defined mappings are replaced by their saved configs;
    InvalidArgumentError names the mapping whose name is not saved."""
    if not uses_saved(job):
        return job
    resolved = job_pb2.Job()
    resolved.CopyFrom(job)
    for i, mapping in enumerate(resolved.mappings):
        for column, config in sorted(mapping.columns.items()):
            if config.WhichOneof("config") != "user_defined":
                continue
            field = f"job.mappings[{i}].columns[{column}].user_defined"
            saved = lookup(config.user_defined)
            if saved is None:
                raise InvalidArgumentError(
                    field, f'no saved transformer is named "{config.user_defined}"'
                )
            if saved.WhichOneof("config") in (None, "user_defined"):
                raise InvalidArgumentError(field, f'"{config.user_defined}" has no usable config')
            random = config.random or saved.random
            config.CopyFrom(saved)
            config.random = random
    return resolved
