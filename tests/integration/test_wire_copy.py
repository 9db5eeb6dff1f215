"""Rows between two PostgreSQL databases in binary form, on real servers: every built-in type
arrives as it left, transformed columns are transformed, checkpoints resume for each key type
that decodes, and what cannot travel in binary (types of the database's own, a destination
whose types differ, a transformer reading the whole row) goes as text, with the same result."""

import datetime as dt
from collections.abc import Callable, Iterator

import psycopg
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from services.engine.connectors import open_database
from services.engine.connectors.base import ReadRequest
from services.engine.copy.table_copy import Destination, copy_table
from services.engine.planning.sync_plan import build_plan
from tests.integration.shop import KEY, execute, rows
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2

TYPES = """
CREATE TABLE everything (
  id bigint PRIMARY KEY, small smallint, whole integer, exact numeric(30, 10), approx float8,
  single real, flag boolean, label text, short varchar(12), fixed char(4), raw bytea,
  day date, clock time, zoned_clock timetz, stamp timestamp, zoned timestamptz,
  span interval, ident uuid, doc json, docb jsonb, addr inet, net cidr, mac macaddr,
  ints int4range, times tstzrange, numbers integer[], words text[], bits bit(5),
  vbits varbit, spot point, search tsvector, cash money, secret text);
INSERT INTO everything
SELECT i, (i % 30000)::smallint, i * 7, i / 7.0, i / 3.0, i / 9.0, i % 2 = 0,
       CASE WHEN i % 5 = 0 THEN NULL ELSE 'ünïcødé ✓ 漢字 🐘 "q", ' || i || E'\\n' END,
       'v' || i, 'c' || (i % 10), decode(lpad(to_hex(i), 8, '0'), 'hex'),
       '2000-01-01'::date + i, '12:00'::time + i * interval '1 s',
       '12:00+05:30'::timetz, '1999-12-31 23:59:59.999999'::timestamp + i * interval '1 h',
       '2020-02-29 12:00+14'::timestamptz + i * interval '1 min', i * interval '1 day 1 ms',
       md5(i::text)::uuid, ('{"n": ' || i || '}')::json, ('{"é": [' || i || ', null]}')::jsonb,
       ('10.0.' || (i % 250) || '.1')::inet, '192.168.0.0/16', '08:00:2b:01:02:03',
       int4range(i, i + 10), tstzrange('2024-01-01', '2024-02-01'), ARRAY[i, NULL, -i],
       ARRAY['a', NULL, 'ü' || i], B'10101', B'1101', point(i, -i),
       to_tsvector('english', 'the quick fox ' || i), i * 1.25, 'ssn-' || i
FROM generate_series(1, 300) AS i;
INSERT INTO everything (id) VALUES (1000);
"""
EVERY = [
    "id", "small", "whole", "exact", "approx", "single", "flag", "label", "short", "fixed", "raw",
    "day", "clock", "zoned_clock", "stamp", "zoned", "span", "ident", "doc", "docb", "addr", "net",
    "mac", "ints", "times", "numbers", "words", "bits", "vbits", "spot", "search", "cash",
]  # fmt: skip


def hashed(columns: dict[str, str]) -> job_pb2.Job:
    job = job_pb2.Job(name="wire")
    mapping = job.mappings.add(table="everything")
    for column, transformer in columns.items():
        getattr(mapping.columns[column], transformer).SetInParent()
    return job


def copied(
    source_url: str,
    destination_url: str,
    job: job_pb2.Job,
    chunk_rows: int = 64,
    resume: sync_pb2.TableCheckpoint | None = None,
    retrying: bool = False,
    binary_copy: bool = True,
) -> tuple[sync_pb2.TablePlan, list[sync_pb2.TableCheckpoint], bool]:
    """Plans `job`, copies its one table with copy_table; the table's plan, its checkpoints,
    and whether its rows travelled in binary form."""
    source, destination = open_database(source_url), open_database(destination_url)
    plan = build_plan(job, source.introspect(), "src", [sync_pb2.DestinationPlan()])
    (table,) = plan.tables
    requests: list[ReadRequest] = []
    read = source.read

    def recorded(request: ReadRequest) -> Iterator[pa.RecordBatch]:
        requests.append(request)
        return read(request)

    source.read = recorded  # type: ignore[method-assign]
    checkpoints: list[sync_pb2.TableCheckpoint] = []
    copy_table(
        source,
        [Destination(destination, sync_pb2.DestinationPlan())],
        table,
        KEY,
        lambda checkpoint, *_: checkpoints.append(checkpoint),
        resume,
        chunk_rows,
        retrying=retrying,
        binary_copy=binary_copy,
    )
    return table, checkpoints, requests[0].wire is not None


@pytest.fixture
def everything(pg_database: Callable[[str], str]) -> tuple[str, str]:
    source, destination = pg_database("wire_src"), pg_database("wire_dst")
    execute(source, TYPES)
    execute(destination, TYPES.split(";")[0])
    return source, destination


def as_text(url: str, columns: list[str], table: str = "everything") -> list[tuple]:
    listed = ", ".join(f"{c}::text" for c in columns)
    return rows(url, f"SELECT {listed} FROM {table} ORDER BY id")


def test_every_built_in_type_arrives_as_it_left(everything: tuple[str, str]) -> None:
    source, destination = everything
    _, checkpoints, wired = copied(source, destination, hashed({"secret": "transform_hash"}))
    assert wired
    assert as_text(destination, EVERY) == as_text(source, EVERY)
    # The transformed column changed, NULLs and all, into 64 hex characters.
    pairs = list(zip(as_text(source, ["secret"]), as_text(destination, ["secret"]), strict=True))
    assert all(s[0] is None and d[0] is None for s, d in pairs[-1:])
    assert all(d[0] != s[0] and len(d[0]) == 64 for s, d in pairs[:-1])
    assert [c.last_key for c in checkpoints[:2]] == [["64"], ["128"]]


def test_transformed_text_integer_and_uuid_columns_are_written_back(
    everything: tuple[str, str],
) -> None:
    source, destination = everything
    job = hashed(
        {
            "label": "transform_hash",
            "short": "transform_first_name",
            "whole": "transform_int64",
            "ident": "transform_uuid",
        }
    )
    # Offsets of 1 to 1000: never the value itself.
    job.mappings[0].columns["whole"].transform_int64.randomization_range_min = 1
    job.mappings[0].columns["whole"].transform_int64.randomization_range_max = 1000
    _, _, wired = copied(source, destination, job)
    assert wired
    kept = [c for c in EVERY if c not in ("label", "short", "whole", "ident")]
    assert as_text(destination, kept) == as_text(source, kept)
    for column in ("label", "short", "whole", "ident"):
        before, after = as_text(source, ["id", column]), as_text(destination, ["id", column])
        assert [a for a, b in zip(after, before, strict=True) if b[1] is not None and a == b] == []
        assert [a[1] is None for a in after] == [b[1] is None for b in before]


@pytest.mark.parametrize(
    ("key_type", "key_of"),
    [
        ("smallint", "i"),
        ("integer", "i"),
        ("bigint", "i * 1000000000::bigint"),
        ("text", "lpad(i::text, 4, '0') || ' é'"),
        ("varchar(20)", "'k' || lpad(i::text, 4, '0')"),
        ("uuid", "md5(i::text)::uuid"),
    ],
)
def test_checkpoints_of_each_key_type_resume_where_they_stopped(
    pg_database: Callable[[str], str], key_type: str, key_of: str
) -> None:
    source, destination = pg_database("key_src"), pg_database("key_dst")
    table = f"CREATE TABLE keyed (k {key_type}, part int, label text, PRIMARY KEY (k, part))"
    execute(
        source,
        table,
        f"INSERT INTO keyed SELECT {key_of}, i % 2, 'row ' || i FROM generate_series(1, 200) i",
    )
    execute(destination, table)
    job = job_pb2.Job(name="keys")
    job.mappings.add(table="keyed").columns["label"].transform_hash.SetInParent()
    _, checkpoints, wired = copied(source, destination, job, chunk_rows=50)
    assert wired
    expected = rows(source, "SELECT k::text, part::text FROM keyed ORDER BY keyed.k, keyed.part")
    assert [list(c.last_key) for c in checkpoints[:3]] == [
        list(expected[n * 50 - 1]) for n in (1, 2, 3)
    ]
    # Resumed from the second checkpoint into an emptied table: the rows after it, no others.
    execute(destination, "TRUNCATE keyed")
    copied(source, destination, job, chunk_rows=50, resume=checkpoints[1])
    assert (
        rows(destination, "SELECT k::text, part::text FROM keyed ORDER BY keyed.k, keyed.part")
        == expected[100:]
    )


def test_a_retried_copy_merges_in_binary_form(everything: tuple[str, str]) -> None:
    source, destination = everything
    job = hashed({"secret": "transform_hash"})
    copied(source, destination, job)
    execute(destination, "DELETE FROM everything WHERE id > 150")
    _, _, wired = copied(source, destination, job, retrying=True)
    assert wired
    assert as_text(destination, EVERY) == as_text(source, EVERY)


@pytest.mark.parametrize(
    ("source_sql", "destination_sql", "job"),
    [
        (  # a type of the database's own: its binary form names its OID
            "CREATE TYPE mood AS ENUM ('sad', 'ok'); CREATE TABLE t (id int PRIMARY KEY, m mood, "
            "s text); INSERT INTO t SELECT i, 'ok', 's' || i FROM generate_series(1, 100) i",
            "CREATE TYPE mood AS ENUM ('sad', 'ok'); CREATE TABLE t (id int PRIMARY KEY, m mood, "
            "s text)",
            "transform_hash",
        ),
        (  # a domain
            "CREATE DOMAIN code AS text CHECK (VALUE <> ''); CREATE TABLE t (id int PRIMARY KEY, "
            "c code, s text); INSERT INTO t SELECT i, 'c', 's' || i FROM generate_series(1, 100) i",
            "CREATE DOMAIN code AS text CHECK (VALUE <> ''); CREATE TABLE t (id int PRIMARY KEY, "
            "c code, s text)",
            "transform_hash",
        ),
        (  # the destination's column has another type
            "CREATE TABLE t (id int PRIMARY KEY, n integer, s text); "
            "INSERT INTO t SELECT i, i, 's' || i FROM generate_series(1, 100) i",
            "CREATE TABLE t (id int PRIMARY KEY, n bigint, s text)",
            "transform_hash",
        ),
        (  # a key whose text form is not decoded from bytes
            "CREATE TABLE t (id numeric PRIMARY KEY, s text); "
            "INSERT INTO t SELECT i, 's' || i FROM generate_series(1, 100) i",
            "CREATE TABLE t (id numeric PRIMARY KEY, s text)",
            "transform_hash",
        ),
        (  # a transformer that reads the whole row
            "CREATE TABLE t (id int PRIMARY KEY, s text); "
            "INSERT INTO t SELECT i, 's' || i FROM generate_series(1, 100) i",
            "CREATE TABLE t (id int PRIMARY KEY, s text)",
            "transform_expression",
        ),
    ],
)
def test_what_cannot_travel_in_binary_goes_as_text(
    pg_database: Callable[[str], str], source_sql: str, destination_sql: str, job: str
) -> None:
    source, destination = pg_database("text_src"), pg_database("text_dst")
    execute(source, source_sql)
    execute(destination, destination_sql)
    sync = job_pb2.Job(name="text")
    column = sync.mappings.add(table="t").columns["s"]
    if job == "transform_expression":
        column.transform_expression.code = "upper(value)"
    else:
        column.transform_hash.SetInParent()
    _, _, wired = copied(source, destination, sync, chunk_rows=30)
    assert not wired
    assert rows(destination, "SELECT count(*), count(DISTINCT s) FROM t") == [(100, 100)]
    assert rows(destination, "SELECT s FROM t WHERE s LIKE 's%'") == []


@pytest.mark.parametrize("form", ["binary", "csv"])
def test_a_latin1_source_arrives_as_the_same_text(
    pg_database: Callable[..., str], form: str
) -> None:
    """Each end speaks UTF-8 to us, whatever its own encoding: a LATIN1 database's bytes are
    never taken for UTF-8 (where 'Ã©' would become 'é')."""
    source = pg_database(
        "latin1", "ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
    )
    destination = pg_database("utf8_dst")
    table = "CREATE TABLE t (id int PRIMARY KEY, name text, note text)"
    execute(
        source,
        table,
        "INSERT INTO t SELECT i, (ARRAY['café', 'Ã©', 'Ünïçødé ±½'])[1 + i % 3], "
        "'n' || i FROM generate_series(1, 90) i",
    )
    execute(destination, table)
    job = job_pb2.Job(name="latin1")
    job.mappings.add(table="t").columns["note"].transform_hash.SetInParent()
    binary = form == "binary"
    _, _, travelled = copied(source, destination, job, chunk_rows=40, binary_copy=binary)
    assert travelled == binary
    query = "SELECT id, name FROM t ORDER BY id"
    assert rows(destination, query) == rows(source, query)
    assert {n for _, n in rows(destination, query)} == {"café", "Ã©", "Ünïçødé ±½"}


_GENERATED = (
    "CREATE TABLE g (id integer PRIMARY KEY, name text, code varchar(8), big bigint, tag uuid, "
    "at timestamptz, amount numeric(12, 3), doc jsonb, raw bytea)"
)
_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
_rows = st.lists(
    st.tuples(
        st.one_of(st.none(), _text),
        st.one_of(st.none(), _text.map(lambda t: t[:8])),
        st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
        st.one_of(st.none(), st.uuids().map(str)),
        st.one_of(st.none(), st.datetimes(timezones=st.just(dt.UTC))),
        st.one_of(st.none(), st.decimals(1 - 10**9, 10**9 - 1, places=3, allow_nan=False)),
        st.one_of(st.none(), st.dictionaries(_text, st.integers(-5, 5), max_size=3)),
        st.one_of(st.none(), st.binary(max_size=20)),
    ),
    max_size=40,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_rows, st.sampled_from(["name", "code", "big", "tag"]))
def test_binary_form_writes_what_csv_writes_on_generated_rows(
    pg_database: Callable[[str], str], generated: list[tuple], transformed: str
) -> None:
    """The CSV path, the one every other pair of databases takes, as the reference: the same
    generated rows through both, one column transformed, give the same destination."""
    source, by_csv, by_wire = (pg_database(label) for label in ("gen_src", "gen_csv", "gen_wire"))
    for url in (source, by_csv, by_wire):
        execute(url, _GENERATED)
    with psycopg.connect(source, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO g VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (i, *row[:6], Jsonb(row[6]) if row[6] is not None else None, row[7])
                for i, row in enumerate(generated)
            ],
        )
    job = job_pb2.Job(name="generated")
    column = job.mappings.add(table="g").columns[transformed]
    if transformed in ("name", "code"):
        column.transform_string.preserve_length = True
    elif transformed == "big":
        column.transform_int64.randomization_range_max = 1000
    else:
        column.transform_uuid.SetInParent()
    _, _, csv_wired = copied(source, by_csv, job, chunk_rows=16, binary_copy=False)
    _, _, wired = copied(source, by_wire, job, chunk_rows=16)
    assert (csv_wired, wired) == (False, True)
    columns = ["id", "name", "code", "big", "tag", "at", "amount", "doc", "raw"]
    assert as_text(by_wire, columns, "g") == as_text(by_csv, columns, "g")
