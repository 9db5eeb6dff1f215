"""Database URLs: which engine they name, and how to show them without their password."""

from urllib.parse import urlsplit, urlunsplit

from services.common.errors import InvalidArgumentError
from veilsync.v1 import connection_pb2

_ENGINES = {
    "postgresql": connection_pb2.ENGINE_POSTGRES,
    "postgres": connection_pb2.ENGINE_POSTGRES,
    "mysql": connection_pb2.ENGINE_MYSQL,
    "mariadb": connection_pb2.ENGINE_MYSQL,
    "sqlite": connection_pb2.ENGINE_SQLITE,
}


def engine_of(url: str, field: str = "url") -> "connection_pb2.Engine.ValueType":
    """The engine a URL names; InvalidArgumentError when the URL is not one Veilsync reads."""
    parts = urlsplit(url)
    engine = _ENGINES.get(parts.scheme.split("+")[0].lower())
    if engine is None:
        raise InvalidArgumentError(
            field, "unsupported URL scheme; use postgresql://, mysql:// or sqlite:///path"
        )
    if engine == connection_pb2.ENGINE_SQLITE:
        if not parts.path or parts.path == "/":
            raise InvalidArgumentError(field, "a sqlite URL needs a file path: sqlite:///path")
    elif not parts.hostname:
        raise InvalidArgumentError(field, "the URL names no host")
    return engine


def redact(url: str) -> str:
    """The URL with its password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))
