"""Built-in transformers and previews as API messages."""

from collections.abc import Sequence
from typing import Protocol

from veilsync.v1 import transformer_pb2


class TransformerDescription(Protocol):
    """What the transformer catalog says about one transformer."""

    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def data_types(self) -> Sequence[str]: ...
    @property
    def deterministic(self) -> bool: ...
    @property
    def version(self) -> int: ...


def transformers_to_proto(
    infos: Sequence[TransformerDescription],
) -> transformer_pb2.GetSystemTransformersResponse:
    return transformer_pb2.GetSystemTransformersResponse(
        transformers=[
            transformer_pb2.SystemTransformer(
                name=info.name,
                description=info.description,
                data_types=list(info.data_types),
                deterministic=info.deterministic,
                version=info.version,
            )
            for info in sorted(infos, key=lambda info: info.name)
        ]
    )


def preview_to_proto(outputs: Sequence[str | None]) -> transformer_pb2.PreviewTransformResponse:
    return transformer_pb2.PreviewTransformResponse(
        outputs=[
            transformer_pb2.PreviewValue(null=True)
            if value is None
            else transformer_pb2.PreviewValue(value=value)
            for value in outputs
        ]
    )
