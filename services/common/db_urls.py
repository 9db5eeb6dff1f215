"""Database URLs: which engine they name, which options they may carry, and how to show
them without their password."""

import re
from urllib.parse import parse_qsl, unquote, urlsplit

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


# Query parameters that carry a password in the URLs of libpq (password, sslpassword), PyMySQL
# and mysqlclient (password, passwd), and other drivers SQLAlchemy URLs are written for.
_SECRET_PARAMS = "password|passwd|pwd|sslpassword|ssl_password|ssl_key_password"
# Up to the netloc's last @, as urlsplit reads it, so a raw @ in a password hides it all.
_USERINFO_PASSWORD = re.compile(r"(?P<prefix>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^/?#\s]*@", re.I)
# Also matches a libpq keyword string ("host=h password=p"), which a driver message may quote.
_PARAM_PASSWORD = re.compile(rf"(?P<prefix>(?<![\w.-])(?:{_SECRET_PARAMS})=)[^&#;\s]*", re.I)


def redact(text: str) -> str:
    """The text (a URL, or a message that quotes URLs) with every password in it replaced by
    ***: a URL's userinfo password and every password-like query parameter. The one rule for
    what is shown or logged of a URL."""
    text = _USERINFO_PASSWORD.sub(r"\g<prefix>***@", text)
    return _PARAM_PASSWORD.sub(r"\g<prefix>***", text)


# Options that make the worker read a local file or socket, or set server settings of the
# session (libpq `options=-c ...`, MySQL `init_command`). A connection's URL comes from an
# account's user, while the file system and sockets belong to whoever runs the workers.
_LOCAL_OPTIONS = {
    connection_pb2.ENGINE_POSTGRES: {
        "passfile": "reads a local file",
        "sslkey": "reads a local file",
        "sslcert": "reads a local file",
        "sslrootcert": "reads a local file",
        "sslcrl": "reads a local file",
        "sslcrldir": "reads a local directory",
        "sslkeylogfile": "writes a local file",
        "service": "reads a local service file",
        "servicefile": "reads a local file",
        "options": "sets server settings of the session",
    },
    connection_pb2.ENGINE_MYSQL: {
        "unix_socket": "opens a local socket",
        "socket": "opens a local socket",
        "read_default_file": "reads a local file",
        "read_default_group": "reads a local option file",
        "ssl_ca": "reads a local file",
        "ssl_capath": "reads a local directory",
        "ssl_cert": "reads a local file",
        "ssl_key": "reads a local file",
        "ssl_crl": "reads a local file",
        "ssl_crlpath": "reads a local directory",
        "local_infile": "lets the server read local files",
        "init_command": "runs SQL of the URL's choosing on every session",
        "plugin_dir": "loads local plugins",
    },
}
ALLOW_LOCAL_OPTIONS_SETTING = "VEILSYNC_ALLOW_LOCAL_URL_OPTIONS"


def check_local_options(url: str, field: str = "url") -> None:
    """InvalidArgumentError naming the first option of the URL that reaches the worker's local
    files or sockets. Callers skip this check when the server's settings allow such options."""
    engine = engine_of(url, field)
    refused = _LOCAL_OPTIONS.get(engine, {})
    parts = urlsplit(url)
    hosts = [unquote(parts.hostname or "")]
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        # MySQL's option files spell options with dashes (ssl-ca) as well as underscores.
        key = name.lower().replace("-", "_")
        if key in refused:
            _refuse(field, name, refused[key])
        if engine == connection_pb2.ENGINE_POSTGRES and key == "host":
            hosts += value.split(",")
    # libpq reads a host that starts with / as a socket directory, and one that starts with @
    # as an abstract Unix socket.
    if engine == connection_pb2.ENGINE_POSTGRES and any(h.startswith(("/", "@")) for h in hosts):
        _refuse(field, "host", "names a local Unix socket")


def _refuse(field: str, option: str, does: str) -> None:
    raise InvalidArgumentError(
        field,
        f"option {option} {does} on the worker; allowed only when "
        f"{ALLOW_LOCAL_OPTIONS_SETTING} is set",
    )
