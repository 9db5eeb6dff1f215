"""AccountService: the caller's account and its API keys."""

import asyncio
from typing import Any

import grpc

from services.api.accounts import account_of
from services.api.mapping.accounts import api_key_to_proto
from services.common.errors import InvalidArgumentError
from services.common.store.api_keys import ApiKeyStore
from services.common.store.names import check_name
from veilsync.v1 import account_pb2 as pb
from veilsync.v1 import account_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]


class AccountServicer(account_pb2_grpc.AccountServiceServicer):
    def __init__(self, keys: ApiKeyStore) -> None:
        self._keys = keys

    async def GetAccount(
        self, request: pb.GetAccountRequest, context: Context
    ) -> pb.GetAccountResponse:
        return pb.GetAccountResponse(account_id=account_of(context))

    async def CreateApiKey(
        self, request: pb.CreateApiKeyRequest, context: Context
    ) -> pb.CreateApiKeyResponse:
        check_name(request.name, "name")
        record, secret = await asyncio.to_thread(
            self._keys.create, account_of(context), request.name
        )
        return pb.CreateApiKeyResponse(api_key=api_key_to_proto(record), secret=secret)

    async def ListApiKeys(
        self, request: pb.ListApiKeysRequest, context: Context
    ) -> pb.ListApiKeysResponse:
        records = await asyncio.to_thread(self._keys.list, account_of(context))
        return pb.ListApiKeysResponse(api_keys=[api_key_to_proto(r) for r in records])

    async def RevokeApiKey(
        self, request: pb.RevokeApiKeyRequest, context: Context
    ) -> pb.RevokeApiKeyResponse:
        if not request.id:
            raise InvalidArgumentError("id", "is required")
        record = await asyncio.to_thread(self._keys.revoke, account_of(context), request.id)
        return pb.RevokeApiKeyResponse(api_key=api_key_to_proto(record))
