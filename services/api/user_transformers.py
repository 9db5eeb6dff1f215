"""Checks of user-defined transformers at the edge: the name, the description, and a config
that is a built-in transformer with valid options."""

from services.common.errors import InvalidArgumentError
from services.common.store.names import check_name
from services.engine.transformers import validate_transformer
from veilsync.v1 import transformer_pb2

MAX_DESCRIPTION_CHARS = 1000


def check_saved(name: str, description: str, config: transformer_pb2.TransformerConfig) -> None:
    check_name(name)
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise InvalidArgumentError("description", f"at most {MAX_DESCRIPTION_CHARS} characters")
    if config.WhichOneof("config") == "user_defined":
        # One level only: a chain could loop, and a rename upstream would break it unseen.
        raise InvalidArgumentError("config.user_defined", "a saved transformer cannot name another")
    # Options alone: the columns it will meet are checked when a job maps it.
    validate_transformer(config, "config")
