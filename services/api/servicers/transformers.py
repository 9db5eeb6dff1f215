"""TransformerService."""

import asyncio
from typing import Any

import grpc

from services.api.mapping.transformers import preview_to_proto, transformers_to_proto
from services.common.errors import InvalidArgumentError
from services.sync_worker.engine.transformers import describe_transformers, preview
from veilsync.v1 import transformer_pb2 as pb
from veilsync.v1 import transformer_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]


class TransformerServicer(transformer_pb2_grpc.TransformerServiceServicer):
    async def GetSystemTransformers(
        self, request: pb.GetSystemTransformersRequest, context: Context
    ) -> pb.GetSystemTransformersResponse:
        return transformers_to_proto(describe_transformers())

    async def PreviewTransform(
        self, request: pb.PreviewTransformRequest, context: Context
    ) -> pb.PreviewTransformResponse:
        if request.config.WhichOneof("config") is None:
            raise InvalidArgumentError("config", "no transformer is set")
        values: list[str | None] = list(request.values)
        outputs = await asyncio.to_thread(preview, request.config, values, request.key.encode())
        return preview_to_proto(outputs)
