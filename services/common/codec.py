"""The Temporal payload codec: every workflow and activity payload is encrypted with
AES-256-GCM before it leaves a process, so workflow history holds no secrets or row data in
clear. Only processes holding the codec key (API, workers, an authorized CLI) can read it."""

import base64
import binascii
import os
from collections.abc import Sequence
from hashlib import sha256
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from services.common.errors import FailedPreconditionError
from services.common.secrets import key_file

ENCODING = b"binary/veilsync-aes256gcm"
_NONCE_BYTES = 12
# Names the key in metadata, so that a rotated key can be told apart from a corrupt payload.
_KEY_ID_BYTES = 8


class AesGcmCodec(PayloadCodec):
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise FailedPreconditionError("the codec key must be 32 bytes")
        self._aead = AESGCM(key)
        self._key_id = base64.b16encode(_key_id(key)).lower()

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decrypt(payload) for payload in payloads]

    def _encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, payload.SerializeToString(), None)
        return Payload(
            metadata={"encoding": ENCODING, "encryption-key-id": self._key_id},
            data=nonce + sealed,
        )

    def _decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before the codec, or by a process without one
        if payload.metadata.get("encryption-key-id") != self._key_id:
            raise FailedPreconditionError("a payload was encrypted with another codec key")
        nonce, sealed = payload.data[:_NONCE_BYTES], payload.data[_NONCE_BYTES:]
        try:
            plain = self._aead.decrypt(nonce, sealed, None)
        except (InvalidTag, ValueError) as err:  # ValueError: shorter than a nonce
            raise FailedPreconditionError("a payload failed its integrity check") from err
        decoded = Payload()
        decoded.ParseFromString(plain)
        return decoded


def _key_id(key: bytes) -> bytes:
    return sha256(b"veilsync-codec-key-id" + key).digest()[:_KEY_ID_BYTES]


def parse_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError) as err:
        raise FailedPreconditionError("the codec key is not urlsafe base64") from err
    if len(key) != 32:
        raise FailedPreconditionError("the codec key must decode to 32 bytes")
    return key


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def load_codec_key(configured: str, data_dir: Path) -> bytes:
    """The configured key, or the embedded stack's key file, created (0600) on first use."""
    if configured:
        return parse_key(configured)
    return parse_key(key_file(data_dir / "codec.key", lambda: new_key().encode()).decode())
