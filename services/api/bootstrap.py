"""The embedded stack's first API key: created when no valid key exists, written to a file
only its owner can read, so the CLI on this machine can use it."""

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from services.common.contract import DEFAULT_ACCOUNT_ID
from services.common.settings import API_KEY_FILE
from services.common.store.api_keys import ApiKeyStore

_log = logging.getLogger(__name__)

KEY_FILE = API_KEY_FILE  # the CLI reads it from the same place


def ensure_first_key(keys: ApiKeyStore, data_dir: Path) -> Path | None:
    """The key file written, or None when keys already exist."""
    if keys.any_valid():
        return None
    name = f"bootstrap-{datetime.now(UTC):%Y%m%d%H%M%S}"
    _, secret = keys.create(DEFAULT_ACCOUNT_ID, name)
    path = data_dir / KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    # The path, never the key: logs travel further than files.
    _log.info("created the first API key; it is in %s", path.resolve())
    return path
