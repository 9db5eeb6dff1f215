"""The payload codec in Python and in TypeScript (workers/typescript-model) against the shared
vectors of tests/vectors/codec_vectors.json: each opens the other's ciphertexts."""

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload

from services.common.codec import AesGcmCodec, parse_key
from services.common.errors import FailedPreconditionError
from tests.servers import unavailable
from tests.vectors.generate_codec_vectors import VECTORS, payload_from_json, payload_json

CASES = json.loads(VECTORS.read_text())["cases"]
CODEC_CLI = Path(__file__).parents[2] / "workers/typescript-model/dist/codec-cli.js"


def _typescript(command: str, key: str, payload: Payload) -> Payload:
    if shutil.which("node") is None or not CODEC_CLI.exists():
        unavailable("the TypeScript worker is not built: make test builds it")
    done = subprocess.run(
        ["node", str(CODEC_CLI), command],
        input=json.dumps(payload_json(payload)),
        env={**os.environ, "VEILSYNC_CODEC_KEY": key},
        capture_output=True,
        text=True,
        check=True,
    )
    return payload_from_json(json.loads(done.stdout))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
async def test_python_opens_every_vector(case: dict[str, object]) -> None:
    codec = AesGcmCodec(parse_key(str(case["key"])))
    [opened] = await codec.decode([payload_from_json(case["ciphertext"])])  # type: ignore[arg-type]
    assert opened == payload_from_json(case["payload"])  # type: ignore[arg-type]


async def test_a_tampered_vector_is_refused() -> None:
    case = CASES[1]
    sealed = payload_from_json(case["ciphertext"])
    sealed.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(FailedPreconditionError, match="integrity"):
        await AesGcmCodec(parse_key(case["key"])).decode([sealed])


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
async def test_python_opens_what_typescript_seals(case: dict[str, object]) -> None:
    key, payload = str(case["key"]), payload_from_json(case["payload"])  # type: ignore[arg-type]
    sealed = _typescript("encrypt", key, payload)
    assert sealed.metadata["encoding"] == b"binary/veilsync-aes256gcm"
    assert sealed.data != payload_from_json(case["ciphertext"]).data  # type: ignore[arg-type]
    [opened] = await AesGcmCodec(parse_key(key)).decode([sealed])
    assert opened == payload


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
async def test_typescript_opens_what_python_seals(case: dict[str, object]) -> None:
    key, payload = str(case["key"]), payload_from_json(case["payload"])  # type: ignore[arg-type]
    [sealed] = await AesGcmCodec(parse_key(key)).encode([payload])
    assert _typescript("decrypt", key, sealed) == payload


def test_vector_keys_are_urlsafe_base64_of_32_bytes() -> None:
    for case in CASES:
        assert len(base64.urlsafe_b64decode(case["key"])) == 32
