"""The AES-GCM payload codec: what leaves a process is sealed, and only the key opens it."""

import os

import pytest
from temporalio.api.common.v1 import Payload

from services.common.codec import ENCODING, AesGcmCodec
from services.common.errors import FailedPreconditionError

KEY = bytes(range(32))
SECRET = b'{"password": "hunter2", "email": "ada@example.com"}'


def payload(data: bytes = SECRET) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


async def encode_one(codec: AesGcmCodec, plain: Payload) -> Payload:
    [sealed] = await codec.encode([plain])
    return sealed


async def test_round_trip_restores_data_and_metadata() -> None:
    codec = AesGcmCodec(KEY)
    plain = [payload(), payload(b""), payload(os.urandom(4096))]
    decoded = await codec.decode(await codec.encode(plain))
    assert decoded == plain


async def test_ciphertext_hides_the_payload() -> None:
    sealed = await encode_one(AesGcmCodec(KEY), payload())
    assert SECRET not in sealed.data
    assert b"hunter2" not in sealed.SerializeToString()
    assert b"json/plain" not in sealed.SerializeToString()


async def test_two_encodes_of_one_payload_differ() -> None:
    codec = AesGcmCodec(KEY)
    first, second = await codec.encode([payload(), payload()])
    assert first.data != second.data  # a fresh nonce each time


async def test_metadata_marks_the_encoding_and_key() -> None:
    sealed = await encode_one(AesGcmCodec(KEY), payload())
    assert sealed.metadata["encoding"] == ENCODING
    other = await encode_one(AesGcmCodec(bytes(32)), payload())
    key_id = sealed.metadata["encryption-key-id"]
    assert key_id and key_id != other.metadata["encryption-key-id"]
    assert KEY.hex().encode() not in key_id


@pytest.mark.parametrize("position", [0, 12, -1])  # nonce, ciphertext, tag
async def test_tampering_fails_the_integrity_check(position: int) -> None:
    codec = AesGcmCodec(KEY)
    sealed = await encode_one(codec, payload())
    data = bytearray(sealed.data)
    data[position] ^= 0x01
    sealed.data = bytes(data)
    with pytest.raises(FailedPreconditionError, match="integrity"):
        await codec.decode([sealed])


@pytest.mark.parametrize("length", [0, 11, 27])  # shorter than a nonce, or than nonce + tag
async def test_a_cut_ciphertext_fails_the_integrity_check(length: int) -> None:
    codec = AesGcmCodec(KEY)
    sealed = await encode_one(codec, payload())
    sealed.data = sealed.data[:length]
    with pytest.raises(FailedPreconditionError, match="integrity"):
        await codec.decode([sealed])


async def test_a_wrong_key_fails() -> None:
    sealed = await encode_one(AesGcmCodec(KEY), payload())
    with pytest.raises(FailedPreconditionError, match="another codec key"):
        await AesGcmCodec(os.urandom(32)).decode([sealed])


async def test_a_wrong_key_with_a_forged_key_id_fails_the_integrity_check() -> None:
    sealed = await encode_one(AesGcmCodec(KEY), payload())
    wrong = AesGcmCodec(os.urandom(32))
    forged = await encode_one(wrong, payload())
    sealed.metadata["encryption-key-id"] = forged.metadata["encryption-key-id"]
    with pytest.raises(FailedPreconditionError, match="integrity"):
        await wrong.decode([sealed])


async def test_payloads_written_without_the_codec_pass_through() -> None:
    plain = payload()
    assert await AesGcmCodec(KEY).decode([plain]) == [plain]


@pytest.mark.parametrize("size", [0, 16, 31, 33])
def test_only_a_32_byte_key_is_accepted(size: int) -> None:
    with pytest.raises(FailedPreconditionError, match="32 bytes"):
        AesGcmCodec(bytes(size))
