"""A short-lived, authenticated connection to the Veilsync API with its service stubs."""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol, TypeVar

import grpc

from services.cli.auth import BearerInterceptor, resolve_api_key
from services.cli.errors import EXIT_INVALID_ARGUMENT, CliError, from_rpc_error
from services.common.settings import Settings
from services.common.tls import TlsSettingsError, api_channel_credentials
from veilsync.v1 import (
    account_pb2_grpc,
    connection_pb2_grpc,
    job_pb2_grpc,
    model_pb2_grpc,
    transformer_pb2_grpc,
)
from veilsync_sdk.channel import open_channel

# Long enough for CreateJob to inspect a source schema, short enough that a hung server
# does not hang a script.
DEFAULT_TIMEOUT_S = 60.0


class Page(Protocol):
    """A List* response: some items and the token of the page after it."""

    @property
    def next_page_token(self) -> str: ...


PageT = TypeVar("PageT", bound=Page)
RequestT = TypeVar("RequestT")
T = TypeVar("T")
PAGE_SIZE = 1000


def paged(fetch: Callable[[str], PageT], items: Callable[[PageT], Iterable[T]]) -> Iterator[T]:
    """Every item of a List* call, page by page: fetch(token) asks for the page at token.

    Lazy, so a caller that stops early (itertools.islice) asks for no page beyond it. Annotate
    the result: mypy checks an `items` lambda against the page type but infers its T as Any.
    """
    token = ""
    while True:
        page = fetch(token)
        yield from items(page)
        token = page.next_page_token
        if not token:
            return


def list_all(
    rpc: "grpc.UnaryUnaryMultiCallable[RequestT, PageT]",
    request: Callable[..., RequestT],
    items: Callable[[PageT], Iterable[T]],
) -> list[T]:
    """Every item of a List* RPC that takes nothing but a page size and token, e.g.
    `list_all(api.jobs.ListJobs, job_pb2.ListJobsRequest, lambda page: page.jobs)`."""
    return list(
        paged(
            lambda token: rpc(
                request(page_size=PAGE_SIZE, page_token=token), timeout=DEFAULT_TIMEOUT_S
            ),
            items,
        )
    )


@dataclass(frozen=True)
class Api:
    """Stubs on one channel; every call should pass timeout=DEFAULT_TIMEOUT_S or its own."""

    address: str
    accounts: account_pb2_grpc.AccountServiceStub
    connections: connection_pb2_grpc.ConnectionServiceStub
    jobs: job_pb2_grpc.JobServiceStub
    models: model_pb2_grpc.ModelServiceStub
    transformers: transformer_pb2_grpc.TransformerServiceStub


@contextmanager
def open_api(settings: Settings) -> Iterator[Api]:
    """The API at settings.api, over TLS when the settings say so, every call carrying the API
    key; a grpc.RpcError raised inside becomes a CliError.

    The key is resolved here, not at start-up, so commands that never call the API (`dev up`)
    work before the stack has written its key file. The channel is closed on the way out: a
    channel left to the garbage collector at interpreter exit can abort the process once grpc
    and temporalio are both imported.
    """
    key = resolve_api_key(settings)
    address = settings.api
    # A job may be as large as the API takes (max_job_bytes): `jobs get` must read it back.
    options = [("grpc.max_receive_message_length", settings.grpc_message_bytes())]
    try:
        credentials = api_channel_credentials(settings)
    except TlsSettingsError as err:
        raise CliError(str(err), EXIT_INVALID_ARGUMENT) from err
    with open_channel(address, credentials, options) as raw:
        channel = grpc.intercept_channel(raw, BearerInterceptor(key.secret))
        api = Api(
            address=address,
            accounts=account_pb2_grpc.AccountServiceStub(channel),
            connections=connection_pb2_grpc.ConnectionServiceStub(channel),
            jobs=job_pb2_grpc.JobServiceStub(channel),
            models=model_pb2_grpc.ModelServiceStub(channel),
            transformers=transformer_pb2_grpc.TransformerServiceStub(channel),
        )
        try:
            yield api
        except grpc.RpcError as err:
            raise from_rpc_error(err, address, key.source) from err
