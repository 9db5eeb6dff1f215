"""What reading a table costs in PostgreSQL's CSV and binary COPY formats, in one process: the
stream drained through psycopg, the CSV also parsed into Arrow, the CSV read in blocks of rows
by the compiled reader (services/engine/connectors/postgres/copy_read.py, the sync's path) with
and without the parse, and the binary stream walked field by field in Python (what a
pure-Python binary path would pay before any decoding); and the destination's side, each
stream loaded back with COPY FROM into an emptied copy of the table (its primary key
included). The ways run in turns, in reverse order every other sample; each prints its wall
time and this process's CPU time.

    .venv/bin/python -m bench.copy_formats [--rows N] [--samples S]
"""

import os
import struct
import time
from collections.abc import Callable, Iterator

import psycopg

from bench import sync_copy
from bench.common import in_turns, run_with_rows_and_samples, scratch_databases, spread
from services.engine.connectors.arrow_csv import read_csv_batches
from services.engine.connectors.base import BATCH_BYTES
from services.engine.connectors.postgres.copy_read import block_reader, copy_blocks

COLUMNS = ["id", "email", "first_name", "last_name", "ssn", "phone", "created_at", "balance"]
_FIELD_COUNT, _LENGTH = struct.Struct("!h"), struct.Struct("!i")
_HEADER = 19  # signature (11), flags (4), header extension length (4)


def chunks(url: str, fmt: str) -> Iterator[bytes | bytearray | memoryview]:
    with (
        psycopg.connect(url) as conn,
        conn.cursor() as cur,
        cur.copy(f"COPY people TO STDOUT (FORMAT {fmt})") as copy,
    ):
        yield from copy


def compiled_blocks(url: str) -> Iterator[bytes]:
    """The CSV stream in blocks of rows joined by the compiled reader."""
    os.environ["VEILSYNC_COPY_READER"] = "compiled"
    with (
        psycopg.connect(url) as conn,
        conn.cursor() as cur,
        cur.copy("COPY people TO STDOUT (FORMAT csv)") as copy,
    ):
        yield from copy_blocks(copy, BATCH_BYTES)


def drain(url: str, fmt: str) -> int:
    return sum(len(chunk) for chunk in chunks(url, fmt))


def csv_to_arrow(url: str) -> int:
    return sum(b.num_rows for b in read_csv_batches(chunks(url, "csv"), COLUMNS, BATCH_BYTES))


def compiled_to_arrow(url: str) -> int:
    return sum(b.num_rows for b in read_csv_batches(compiled_blocks(url), COLUMNS, BATCH_BYTES))


def walk_binary(url: str) -> int:
    """Rows of the binary stream, each field's bytes sliced out (one CopyData per row)."""
    rows = 0
    for index, chunk in enumerate(chunks(url, "binary")):
        data = bytes(chunk)
        pos = _HEADER if index == 0 else 0
        (fields,) = _FIELD_COUNT.unpack_from(data, pos)
        pos += 2
        if fields < 0:
            continue  # the trailer
        for _ in range(fields):
            (length,) = _LENGTH.unpack_from(data, pos)
            pos += 4
            if length > 0:
                field = data[pos : pos + length]
                pos += len(field)
        rows += 1
    return rows


def load(url: str, fmt: str, data: bytes) -> int:
    """The destination's side: the stream written back into the emptied table in 1 MB pieces."""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE people_copy")
        with cur.copy(f"COPY people_copy FROM STDIN (FORMAT {fmt})") as copy:
            for start in range(0, len(data), 1 << 20):
                copy.write(data[start : start + (1 << 20)])
        return cur.rowcount


def main(rows: int, samples: int) -> None:
    if block_reader() is None:
        raise SystemExit("the compiled COPY reader cannot be built here (see the log above)")
    with scratch_databases("formats") as (url,):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sync_copy.TABLE)
            conn.execute(sync_copy.FILL, (rows,))
            conn.execute("VACUUM ANALYZE people")
            conn.execute("CREATE TABLE people_copy (LIKE people INCLUDING ALL)")
        streams = {fmt: b"".join(chunks(url, fmt)) for fmt in ("csv", "binary")}
        ways: dict[str, Callable[[], int]] = {
            "CSV drained": lambda: drain(url, "csv"),
            "binary drained": lambda: drain(url, "binary"),
            "CSV drained + Arrow parse": lambda: csv_to_arrow(url),
            "CSV compiled blocks": lambda: sum(len(b) for b in compiled_blocks(url)),
            "CSV compiled + Arrow parse": lambda: compiled_to_arrow(url),
            "binary walked in Python": lambda: walk_binary(url),
            "CSV loaded (COPY FROM)": lambda: load(url, "csv", streams["csv"]),
            "binary loaded (COPY FROM)": lambda: load(url, "binary", streams["binary"]),
        }
        times: dict[str, list[float]] = {name: [] for name in ways}
        cpu: dict[str, list[float]] = {name: [] for name in ways}
        for sample, name, way in in_turns(ways, samples):
            start, used = time.perf_counter(), time.process_time()
            result = way()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - used)
            if sample == 0:
                unit = "bytes" if name.endswith(("drained", "blocks")) else "rows"
                print(f"{name}: {result:,} {unit}")
    for name, seconds in times.items():
        print(f"{name:28} {spread(seconds)}; CPU {spread(cpu[name])}")


if __name__ == "__main__":
    run_with_rows_and_samples(__doc__, main)
