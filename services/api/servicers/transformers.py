"""TransformerService."""

import asyncio
from typing import Any

import grpc

from services.api import validation
from services.api.accounts import account_of
from services.api.mapping.suggestions import suggestions_to_proto
from services.api.mapping.transformers import preview_to_proto, transformers_to_proto
from services.api.pii_scan import DEFAULT_SAMPLE_ROWS, MAX_SAMPLE_ROWS, scan
from services.api.user_transformers import check_saved
from services.common.errors import InvalidArgumentError
from services.common.store.store import MetadataStore
from services.engine.transformers import describe_transformers, preview
from veilsync.v1 import transformer_pb2 as pb
from veilsync.v1 import transformer_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]


class TransformerServicer(transformer_pb2_grpc.TransformerServiceServicer):
    def __init__(self, store: MetadataStore) -> None:
        self._store = store

    async def GetSystemTransformers(
        self, request: pb.GetSystemTransformersRequest, context: Context
    ) -> pb.GetSystemTransformersResponse:
        return transformers_to_proto(describe_transformers())

    async def PreviewTransform(
        self, request: pb.PreviewTransformRequest, context: Context
    ) -> pb.PreviewTransformResponse:
        if request.config.WhichOneof("config") is None:
            raise InvalidArgumentError("config", "no transformer is set")
        config = request.config
        if config.WhichOneof("config") == "user_defined":
            config = await asyncio.to_thread(self._saved_config, account_of(context), config)
        values: list[str | None] = list(request.values)
        outputs = await asyncio.to_thread(preview, config, values, request.key.encode())
        return preview_to_proto(outputs)

    async def SuggestTransformers(
        self, request: pb.SuggestTransformersRequest, context: Context
    ) -> pb.SuggestTransformersResponse:
        if not 0 <= request.sample_rows <= MAX_SAMPLE_ROWS:
            raise InvalidArgumentError("sample_rows", f"must be between 0 and {MAX_SAMPLE_ROWS}")
        connection_id, name = validation.connection_ref(request.connection)
        url = await asyncio.to_thread(
            self._store.connection_url, account_of(context), connection_id, name=name
        )
        report = await asyncio.to_thread(scan, url, request.sample_rows or DEFAULT_SAMPLE_ROWS)
        return suggestions_to_proto(report)

    async def CreateUserDefinedTransformer(
        self, request: pb.CreateUserDefinedTransformerRequest, context: Context
    ) -> pb.CreateUserDefinedTransformerResponse:
        check_saved(request.name, request.description, request.config)
        saved = await asyncio.to_thread(
            self._store.user_transformers.create,
            account_of(context),
            request.name,
            request.description,
            request.config,
        )
        return pb.CreateUserDefinedTransformerResponse(transformer=saved)

    async def GetUserDefinedTransformer(
        self, request: pb.GetUserDefinedTransformerRequest, context: Context
    ) -> pb.GetUserDefinedTransformerResponse:
        if not request.name:
            raise InvalidArgumentError("name", "is required")
        saved = await asyncio.to_thread(
            self._store.user_transformers.get, account_of(context), request.name
        )
        return pb.GetUserDefinedTransformerResponse(transformer=saved)

    async def ListUserDefinedTransformers(
        self, request: pb.ListUserDefinedTransformersRequest, context: Context
    ) -> pb.ListUserDefinedTransformersResponse:
        page = await asyncio.to_thread(
            self._store.user_transformers.list,
            account_of(context),
            request.page_size,
            request.page_token,
        )
        return pb.ListUserDefinedTransformersResponse(
            transformers=page.items, next_page_token=page.next_page_token
        )

    async def UpdateUserDefinedTransformer(
        self, request: pb.UpdateUserDefinedTransformerRequest, context: Context
    ) -> pb.UpdateUserDefinedTransformerResponse:
        check_saved(request.name, request.description, request.config)
        saved = await asyncio.to_thread(
            self._store.user_transformers.update,
            account_of(context),
            request.name,
            request.description,
            request.config,
        )
        return pb.UpdateUserDefinedTransformerResponse(transformer=saved)

    async def DeleteUserDefinedTransformer(
        self, request: pb.DeleteUserDefinedTransformerRequest, context: Context
    ) -> pb.DeleteUserDefinedTransformerResponse:
        if not request.name:
            raise InvalidArgumentError("name", "is required")
        await asyncio.to_thread(
            self._store.user_transformers.delete, account_of(context), request.name
        )
        return pb.DeleteUserDefinedTransformerResponse()

    def _saved_config(self, account_id: str, config: pb.TransformerConfig) -> pb.TransformerConfig:
        saved = self._store.user_transformers.config(account_id, config.user_defined)
        if saved is None:
            raise InvalidArgumentError(
                "config.user_defined", f'no saved transformer is named "{config.user_defined}"'
            )
        saved.random = saved.random or config.random
        return saved
