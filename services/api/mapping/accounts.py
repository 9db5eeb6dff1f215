"""API keys as API messages: never their secret, which only CreateApiKey returns once."""

from services.common.store.records import ApiKeyRecord
from veilsync.v1 import account_pb2


def api_key_to_proto(record: ApiKeyRecord) -> account_pb2.ApiKey:
    message = account_pb2.ApiKey(id=record.id, name=record.name, prefix=record.prefix)
    message.create_time.FromDatetime(record.create_time)
    if record.revoke_time is not None:
        message.revoke_time.FromDatetime(record.revoke_time)
    return message
