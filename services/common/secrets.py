"""Encryption of secrets at rest (connection URLs, job transform keys)."""

import os
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from services.common.errors import FailedPreconditionError
from services.common.settings import Settings


class SecretCipher:
    """Encrypts and decrypts short secrets with one Fernet key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def encrypt(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken as err:
            raise FailedPreconditionError(
                "a stored secret cannot be decrypted with the configured secret key"
            ) from err


def key_file(path: Path, new: Callable[[], bytes]) -> bytes:
    """The key in `path`, written (mode 0600) from `new()` on first use; when processes of
    the stack start together, the first to create the file wins and the others read it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(new())
    return path.read_bytes().strip()


def secret_key(settings: Settings) -> bytes:
    """The configured secret key, or the embedded stack's key file."""
    if settings.secret_key:
        return settings.secret_key.encode()
    return key_file(Path(settings.data_dir) / "secret.key", Fernet.generate_key)


def load_cipher(settings: Settings) -> SecretCipher:
    return SecretCipher(secret_key(settings))
