"""Connection checks: can Veilsync reach this database?"""

from dataclasses import dataclass


@dataclass(frozen=True)
class ConnectionCheck:
    reachable: bool
    message: str  # why not, with credentials removed; empty when reachable
    server_version: str


def check_connection(url: str) -> ConnectionCheck:
    """Connect, run a trivial query, report. Never raises for an unreachable database."""
    raise NotImplementedError  # lead is writing this
