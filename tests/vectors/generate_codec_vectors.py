"""Writes codec_vectors.json: payloads sealed by the Python codec (services/common/codec.py),
which both the Python and the TypeScript codec tests must open. Run once; the nonces are
random, so running it again rewrites every ciphertext (and both tests still pass).

    .venv/bin/python -m tests.vectors.generate_codec_vectors
"""

import asyncio
import base64
import hashlib
import json
from pathlib import Path

from temporalio.api.common.v1 import Payload

from services.common.codec import AesGcmCodec
from veilsync.temporal.v1 import ml_pb2

VECTORS = Path(__file__).with_name("codec_vectors.json")
LARGE_BYTES = 40_000


def payload_json(payload: Payload) -> dict[str, object]:
    return {
        "metadata": {
            name: base64.b64encode(value).decode() for name, value in payload.metadata.items()
        },
        "data": base64.b64encode(payload.data).decode(),
    }


def payload_from_json(json_payload: dict[str, object]) -> Payload:
    metadata = json_payload["metadata"]
    data = json_payload["data"]
    assert isinstance(metadata, dict) and isinstance(data, str)
    return Payload(
        metadata={name: base64.b64decode(value) for name, value in metadata.items()},
        data=base64.b64decode(data),
    )


def _key(name: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(f"vector key {name}".encode()).digest()).decode()


def _large() -> bytes:
    blocks = (hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(LARGE_BYTES // 32))
    return b"".join(blocks)


def _cases() -> list[tuple[str, Payload]]:
    message = ml_pb2.SampleModelResult(result=ml_pb2.SampleModelWorkflowResult(rows_written=42))
    return [
        ("empty data", Payload(metadata={"encoding": b"binary/null"})),
        ("json", Payload(metadata={"encoding": b"json/plain"}, data=b'{"table":"public.orders"}')),
        (
            "json/protobuf",
            Payload(
                metadata={
                    "encoding": b"json/protobuf",
                    "messageType": message.DESCRIPTOR.full_name.encode(),
                },
                data=b'{"result":{"rowsWritten":"42"}}',
            ),
        ),
        ("unicode", Payload(metadata={"encoding": b"json/plain"}, data='"Zoë 東京"'.encode())),
        ("large data", Payload(metadata={"encoding": b"binary/plain"}, data=_large())),
    ]


async def _vectors() -> list[dict[str, object]]:
    vectors = []
    for name, payload in _cases():
        key = _key(name)
        [sealed] = await AesGcmCodec(base64.urlsafe_b64decode(key)).encode([payload])
        vectors.append(
            {
                "name": name,
                "key": key,
                "payload": payload_json(payload),
                "ciphertext": payload_json(sealed),
            }
        )
    return vectors


if __name__ == "__main__":
    cases = asyncio.run(_vectors())
    VECTORS.write_text(json.dumps({"cases": cases}, indent=2) + "\n")
    print(f"wrote {len(cases)} vectors to {VECTORS}")
