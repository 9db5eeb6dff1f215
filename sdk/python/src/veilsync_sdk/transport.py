"""What the blocking and the asyncio client share: the client's arguments, and a transport
that holds one channel's stubs, the API key and the timeouts. Only sending differs between
the two (veilsync_sdk.client and veilsync_sdk.aio)."""

from pathlib import Path
from typing import Any, Generic, TypeVar

from veilsync.v1 import job_pb2
from veilsync_sdk.calls.base import Call, Stubs
from veilsync_sdk.channel import ChannelOptions, Target
from veilsync_sdk.reconnect import Backoff

ChannelT = TypeVar("ChannelT")
TransportT = TypeVar("TransportT", bound="TransportBase[Any]")


class TransportBase(Generic[ChannelT]):
    """One channel, its stubs, the key's metadata and the timeout each call gets."""

    def __init__(
        self, channel: ChannelT, target: Target, timeout_s: float, long_timeout_s: float
    ) -> None:
        self.channel = channel
        self._stubs = Stubs.on(channel)
        self._metadata = target.metadata
        self._timeout_s = timeout_s
        self._long_timeout_s = long_timeout_s

    def _timeout(self, call: Call[Any]) -> float:
        return self._long_timeout_s if call.long else self._timeout_s


class SubClient(Generic[TransportT]):
    """A group of methods (one service's, or one run's) sending on the client's transport."""

    def __init__(self, transport: TransportT, backoff: Backoff) -> None:
        self._t = transport
        self._backoff = backoff


class RunBase(SubClient[TransportT]):
    """One run of a job: its id, the run as last fetched, and what can be done with it."""

    def __init__(self, transport: TransportT, run: job_pb2.JobRun, backoff: Backoff) -> None:
        super().__init__(transport, backoff)
        self.run = run

    @property
    def id(self) -> str:
        return self.run.id


class ClientBase(Generic[TransportT]):
    """A connection to the Veilsync API. Use it as a context manager, or close it.

    address and api_key default to $VEILSYNC_API and $VEILSYNC_API_KEY. TLS is used when tls
    is set or a CA file or client certificate is given. Calls time out after `timeout`
    seconds, those that wait on a worker after `long_timeout`; `backoff` paces the reconnects
    of a run's wait().
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        api_key: str | None = None,
        tls: bool = False,
        ca_file: str | Path | None = None,
        client_cert: str | Path | None = None,
        client_key: str | Path | None = None,
        timeout: float = 60.0,
        long_timeout: float = 600.0,
        backoff: Backoff | None = None,
        options: ChannelOptions = (),
    ) -> None:
        target = Target.of(
            address,
            api_key,
            tls=tls,
            ca_file=ca_file,
            client_cert=client_cert,
            client_key=client_key,
            options=options,
        )
        self.address = target.address
        self._transport = self._connect(target, timeout, long_timeout)
        self._attach(self._transport, backoff or Backoff())

    def _connect(self, target: Target, timeout_s: float, long_timeout_s: float) -> TransportT:
        """The transport the sub-clients send on."""
        raise NotImplementedError

    def _attach(self, transport: TransportT, backoff: Backoff) -> None:
        """Set the sub-clients (connections, jobs, runs, models, transformers)."""
        raise NotImplementedError
