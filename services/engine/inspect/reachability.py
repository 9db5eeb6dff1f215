"""Connection checks: can Veilsync reach this database?"""

from dataclasses import dataclass

from services.common.errors import DatabaseUnavailableError, InvalidArgumentError
from services.engine.connectors import open_database


@dataclass(frozen=True)
class ConnectionCheck:
    reachable: bool
    message: str  # why not, with credentials removed; empty when reachable
    server_version: str


def check_connection(url: str) -> ConnectionCheck:
    """Connect, ask the server's version, report. Never raises for an unreachable database."""
    try:
        return ConnectionCheck(True, "", open_database(url).version())
    except (DatabaseUnavailableError, InvalidArgumentError) as err:
        return ConnectionCheck(False, str(err), "")
