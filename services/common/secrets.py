"""Encryption of secrets at rest (connection URLs, job transform keys)."""

import os
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


def load_cipher(settings: Settings) -> SecretCipher:
    """The configured key, or the embedded stack's key file, created on first use."""
    if settings.secret_key:
        return SecretCipher(settings.secret_key.encode())
    path = Path(settings.data_dir) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
    return SecretCipher(path.read_bytes().strip())
