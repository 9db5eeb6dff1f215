"""A COPY TO STDOUT read in blocks of whole rows by a compiled loop over libpq.

PostgreSQL sends one CopyData message per row, and psycopg hands each to Python: about 0.8 s
per million rows. `_copyread.c` joins them in C instead. It is compiled on first use into
the environment (services/engine/native.py); where it cannot be, or
VEILSYNC_COPY_READER=psycopg, rows go through psycopg as before."""

import ctypes
import functools
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
from psycopg import generators, pq

from services.common.settings import Settings
from services.engine import native

_log = logging.getLogger(__name__)
_SOURCE = Path(__file__).with_name("_copyread.c")
_END, _FAILED = -1, -2  # PQgetCopyData's statuses
_LIBPQ = re.compile(r"libpq[.-]")  # libpq.so.5, or psycopg-binary's libpq-e9b5c9ac.so.5.18

# (pgconn pointer, max bytes) -> (whole rows, PQgetCopyData's last status)
BlockReader = Callable[[int, int], tuple[bytes, int]]

_lock = threading.Lock()
_loaded: list[BlockReader | None] = []  # filled once per process


def copy_blocks(copy: psycopg.Copy, max_bytes: int) -> Iterator[bytes]:
    """The rows of an open COPY TO STDOUT, in blocks of whole rows of about `max_bytes` (one
    row per block on psycopg's path). Raises psycopg's errors as psycopg's own read would."""
    read = block_reader() if _compiled_chosen(os.environ.get("VEILSYNC_COPY_READER")) else None
    if read is None:
        for row in copy:
            yield bytes(row)
        return
    conn = copy.connection
    pgconn = conn.pgconn
    pointer: int = pgconn.pgconn_ptr  # type: ignore[attr-defined]  # in each pq, not in its abc
    status = 0
    while status != _END:
        block, status = read(pointer, max_bytes)
        if status == _FAILED:
            message = pgconn.error_message.decode(errors="replace")
            raise psycopg.OperationalError(f"receiving copy data failed: {message}")
        if status == _END:
            _end(conn)  # before the last rows go out: a consumer may stop at them
        if block:
            yield block


@functools.cache
def _compiled_chosen(setting: str | None) -> bool:
    """Settings' copy_reader, parsed once per value of its variable: building Settings costs
    milliseconds, a table's read can take less."""
    return Settings().copy_reader == "compiled"


def _end(conn: psycopg.Connection[Any]) -> None:
    """Read the ended COPY's result as psycopg's own read does, raising its error if any."""
    for result in conn.wait(generators.fetch_many(conn.pgconn)):
        if result.status != pq.ExecStatus.COMMAND_OK:
            raise psycopg.errors.error_from_result(result, encoding=conn.info.encoding)


def block_reader() -> BlockReader | None:
    """The compiled reader bound to the libpq psycopg uses, or None (logged once) when it
    cannot be built or loaded here."""
    with _lock:
        if not _loaded:
            try:
                _loaded.append(_bind(native.extension(_SOURCE)))
            except native.BUILD_ERRORS as err:
                _log.warning(
                    "compiled COPY reader unavailable, reading rows through psycopg: %s", err
                )
                _loaded.append(None)
        return _loaded[0]


def _bind(module: ModuleType) -> BlockReader:
    libpq = ctypes.CDLL(_loaded_libpq())
    get_copy_data = ctypes.cast(libpq.PQgetCopyData, ctypes.c_void_p).value
    freemem = ctypes.cast(libpq.PQfreemem, ctypes.c_void_p).value
    if not (get_copy_data and freemem):
        raise LookupError("libpq without PQgetCopyData or PQfreemem")
    read: Callable[[int, int, int, int], tuple[bytes, int]]
    read = module.read_copy_block

    def read_block(pgconn_ptr: int, max_bytes: int) -> tuple[bytes, int]:
        return read(pgconn_ptr, max_bytes, get_copy_data, freemem)

    return read_block


def _loaded_libpq() -> str:
    """The file of the one libpq in this process: psycopg's, which made its connections."""
    psycopg.pq.version()  # loads it, whichever implementation psycopg uses
    with open("/proc/self/maps") as maps:  # Linux; elsewhere OSError: psycopg's path
        fields = [line.split(maxsplit=5) for line in maps]
    paths = {f[5].strip() for f in fields if len(f) == 6 and _LIBPQ.match(Path(f[5]).name)}
    if len(paths) != 1:
        raise LookupError(f"expected one libpq loaded, found {sorted(paths) or 'none'}")
    return paths.pop()
