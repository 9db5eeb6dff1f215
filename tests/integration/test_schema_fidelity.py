"""init_schema from PostgreSQL to PostgreSQL recreates what the tables need and the source has:
domains, enums, composite types, identity and serial sequences, check and exclusion
constraints, indexes with their methods, declarative partitions, table inheritance, and views
when asked. Each test compares the two catalogs, read the same way on both sides."""

import logging
from collections.abc import Callable
from dataclasses import replace

import psycopg
import pytest

from services.common.errors import InvalidArgumentError
from services.engine.connectors import open_database
from services.engine.copy.table_copy import Destination, copy_table
from services.engine.planning.job_plan import check_plan, read_shape
from services.engine.planning.sync_plan import build_plan
from tests.integration.shop import KEY, execute, rows, run_sync
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2, transformer_pb2

SOURCE = """
CREATE EXTENSION btree_gist;
CREATE SCHEMA app;
CREATE DOMAIN posint AS integer CONSTRAINT posint_check CHECK (VALUE > 0);
CREATE DOMAIN app.age AS posint DEFAULT 18 NOT NULL
    CONSTRAINT "age ""limit"" ok" CHECK (VALUE < 150);
CREATE TYPE mood AS ENUM ('sad', 'ok', 'it''s fine');
CREATE TYPE shade AS ENUM ('dark', 'light');  -- used only through the arrays below
CREATE DOMAIN app.shades AS shade[];
CREATE TYPE app.address AS (street text, zip posint, feeling mood, walls shade[]);
CREATE TABLE people (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL CONSTRAINT email_has_at CHECK (email LIKE '%@%'),
    age app.age,
    mood mood DEFAULT 'ok',
    moods mood[],
    shades app.shades,
    home app.address,
    words tsvector,
    CONSTRAINT adult CHECK (age >= 18)
);
CREATE INDEX people_lower_email ON people USING btree (lower(email)) WHERE email <> '';
CREATE INDEX people_words ON people USING gist (words);
CREATE INDEX people_mood ON people USING hash (mood);
CREATE UNIQUE INDEX people_email ON people (email);
CREATE TABLE app.rooms (
    id serial PRIMARY KEY, room int NOT NULL, during tsrange NOT NULL,
    CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&)
);
CREATE TABLE events (id bigint, at date NOT NULL, note text, PRIMARY KEY (id, at))
    PARTITION BY RANGE (at);
CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE INDEX events_note ON events (note);
CREATE TABLE payment (id serial PRIMARY KEY, amount numeric(6, 2) CHECK (amount >= 0));
CREATE TABLE payment_2024 (CONSTRAINT in_2024 CHECK (id > 100)) INHERITS (payment);
CREATE VIEW adults AS SELECT id, email FROM people WHERE age >= 21;
CREATE VIEW adult_emails AS SELECT email FROM adults;
CREATE FUNCTION initials(text) RETURNS text LANGUAGE sql AS $$ SELECT left($1, 1) $$;
CREATE VIEW people_initials AS SELECT initials(email) AS i FROM people;

INSERT INTO people (email, age, mood, moods, home, words) VALUES
    ('ann@corp.test', 30, 'sad', '{sad,ok}', ROW('Main St', 1, 'ok', '{dark}'), 'a b'),
    ('bob@corp.test', 40, 'it''s fine', NULL, NULL, NULL);
UPDATE people SET shades = '{light,dark}' WHERE id = 1;
INSERT INTO app.rooms (room, during) VALUES (1, '[2024-01-01, 2024-01-02)');
INSERT INTO events SELECT i, DATE '2023-12-01' + i, 'n' || i FROM generate_series(1, 60) i;
INSERT INTO payment (amount) SELECT i FROM generate_series(1, 5) i;
INSERT INTO payment_2024 (id, amount) SELECT 100 + i, i FROM generate_series(1, 7) i;
"""

# The catalog as a comparable value: every query lists user objects by name (no oids), in a
# stable order. Foreign keys are left out: they come after the data, elsewhere.
_USER = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'"
CATALOG = {
    "types": f"""
        SELECT n.nspname, t.typname, t.typtype, format_type(t.typbasetype, t.typtypmod),
               t.typnotnull, pg_get_expr(t.typdefaultbin, 0),
               ARRAY(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid
                     ORDER BY e.enumsortorder),
               ARRAY(SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                     FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0
                       AND t.typtype = 'c' ORDER BY a.attnum)
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        LEFT JOIN pg_class r ON r.oid = t.typrelid
        WHERE {_USER} AND (t.typtype IN ('d', 'e') OR r.relkind = 'c')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
        ORDER BY 1, 2""",
    "domain checks": f"""
        SELECT n.nspname, t.typname, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_type t ON t.oid = c.contypid
        JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {_USER} ORDER BY 1, 2, 3""",
    "tables": f"""
        SELECT n.nspname, c.relname, c.relkind, c.relispartition,
               pg_get_expr(c.relpartbound, c.oid),
               CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
               ARRAY(SELECT p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                     WHERE i.inhrelid = c.oid ORDER BY i.inhseqno)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_USER} AND c.relkind IN ('r', 'p') ORDER BY 1, 2""",
    "columns": f"""
        SELECT n.nspname, c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
               a.attnotnull, a.attidentity, pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE {_USER} AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY 1, 2, 3""",
    "constraints": f"""
        SELECT n.nspname, c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid)
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_USER} AND k.contype <> 'f' ORDER BY 1, 2, 3""",
    "indexes": f"""
        SELECT n.nspname, c.relname, ic.relname, am.amname, pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_am am ON am.oid = ic.relam JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_USER} ORDER BY 1, 2, 3""",
    "sequences": f"""
        SELECT n.nspname, s.relname, c.relname, a.attname, d.deptype
        FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace
        LEFT JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
             AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
        LEFT JOIN pg_class c ON c.oid = d.refobjid
        LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE {_USER} AND s.relkind = 'S' ORDER BY 1, 2""",
}
VIEWS = f"""
    SELECT n.nspname, c.relname, pg_get_viewdef(c.oid) FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_USER} AND c.relkind = 'v'
    ORDER BY 1, 2"""


def catalog(url: str) -> dict[str, list[tuple[object, ...]]]:
    return {name: rows(url, query) for name, query in CATALOG.items()}


@pytest.fixture
def fidelity_source(pg_database: Callable[[str], str]) -> str:
    url = pg_database("src")
    execute(url, SOURCE)
    return url


def _empty_with_btree_gist(pg_database: Callable[[str], str]) -> str:
    """A destination holding the extension the exclusion constraint needs: init_schema
    creates no extension (it names the one a type needs instead)."""
    url = pg_database("dst")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION btree_gist")
    return url


def test_init_schema_recreates_types_checks_indexes_partitions_and_inheritance(
    fidelity_source: str, pg_database: Callable[[str], str]
) -> None:
    destination = _empty_with_btree_gist(pg_database)
    run_sync(fidelity_source, destination, job_pb2.Job(name="fidelity"))
    before, after = catalog(fidelity_source), catalog(destination)
    for part in CATALOG:
        assert before[part] and after[part] == before[part], part
    kinds = {(schema, name): kind for schema, name, kind, *_ in after["tables"]}
    assert kinds[("public", "events")] == "p" and kinds[("public", "events_2023")] == "r"
    assert {row[3] for row in after["indexes"]} == {"btree", "gist", "hash"}
    assert rows(destination, VIEWS) == []  # views only when asked
    for query in (
        "SELECT * FROM people ORDER BY id",
        "SELECT * FROM events ORDER BY id",
        "SELECT * FROM app.rooms ORDER BY id",
        # The parent's own rows and the child's, each once: a parent is read FROM ONLY.
        "SELECT tableoid::regclass::text, * FROM payment ORDER BY id",
    ):
        assert rows(destination, query) == rows(fidelity_source, query), query
    # Sequences continue after the copied keys, the parent's past its children's too.
    with psycopg.connect(destination) as conn:
        assert conn.execute("INSERT INTO payment (amount) VALUES (1) RETURNING id").fetchone() == (
            108,
        )
        assert conn.execute(
            "INSERT INTO people (email) VALUES ('new@corp.test') RETURNING id"
        ).fetchone() == (3,)


def test_init_schema_views_creates_the_views_it_can(
    fidelity_source: str, pg_database: Callable[[str], str], caplog: pytest.LogCaptureFixture
) -> None:
    destination = _empty_with_btree_gist(pg_database)
    options = job_pb2.JobDestination(init_schema=True, init_schema_views=True)
    with caplog.at_level(logging.WARNING):
        run_sync(fidelity_source, destination, job_pb2.Job(name="views"), options)
    created = {(schema, name) for schema, name, _ in rows(destination, VIEWS)}
    assert created == {("public", "adults"), ("public", "adult_emails")}
    # The third calls a function init_schema does not copy: left out, said so, the rest stand.
    assert "people_initials" in caplog.text and "initials" in caplog.text
    source_views = {row for row in rows(fidelity_source, VIEWS) if row[1] != "people_initials"}
    assert set(rows(destination, VIEWS)) == source_views
    assert rows(destination, "SELECT * FROM adult_emails ORDER BY 1") == [
        ("ann@corp.test",),
        ("bob@corp.test",),
    ]


def test_a_type_from_a_missing_extension_is_named_before_anything_is_created(
    pg_database: Callable[[str], str],
) -> None:
    source, destination = pg_database("src"), pg_database("dst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION citext; CREATE TABLE users (id int PRIMARY KEY, e citext)")
        conn.execute("CREATE TYPE kind AS ENUM ('a'); CREATE TABLE other (k kind)")
    tables = list(open_database(source).introspect().tables.values())
    with pytest.raises(InvalidArgumentError, match=r"public\.citext.*install the extension citext"):
        open_database(destination).create_tables(tables, "postgres")
    assert rows(destination, "SELECT count(*) FROM pg_type WHERE typname = 'kind'") == [(0,)]


class Connections:
    """Planning's connections by name: their URL, the name as id."""

    def __init__(self, urls: dict[str, str]) -> None:
        self._urls = urls

    def connection_id_by_name(self, account_id: str, name: str) -> str:
        return name

    def connection_url(self, account_id: str, connection_id: str) -> str:
        return self._urls[connection_id]

    def saved_transformer(
        self, account_id: str, name: str
    ) -> transformer_pb2.TransformerConfig | None:
        return None


@pytest.mark.parametrize(
    ("destination", "message"),
    [
        (
            job_pb2.JobDestination(connection="qa", init_schema=True),
            r"destinations\[0\]: init_schema cannot create table app\.rooms: column during of type "
            "tsrange cannot be mapped to MySQL",
        ),
        (
            job_pb2.JobDestination(connection="qa", init_schema_views=True),
            r"destinations\[0\]: init_schema_views needs init_schema",
        ),
        (
            job_pb2.JobDestination(connection="qa", init_schema=True, init_schema_views=True),
            "init_schema_views recreates views from PostgreSQL to PostgreSQL only",
        ),
    ],
)
def test_what_a_mysql_destination_cannot_create_fails_the_job_when_checked(
    fidelity_source: str,
    mysql_database: Callable[[str], str],
    destination: job_pb2.JobDestination,
    message: str,
) -> None:
    job = job_pb2.Job(name="to mysql")
    job.source.connection = "src"
    job.destinations.append(destination)
    urls = {"src": fidelity_source, "qa": mysql_database("qa")}
    with pytest.raises(InvalidArgumentError, match=message):
        check_plan(read_shape(job, "account", Connections(urls)))


def test_sakila_tables_are_all_created_and_payment_copies_without_its_childrens_rows(
    sakila_pg: Callable[[], str], pg_database: Callable[[str], str]
) -> None:
    source, destination = sakila_pg(), pg_database("dst")
    tables = list(open_database(source).introspect().tables.values())
    created = open_database(destination).create_tables(tables, "postgres")
    assert len(created) == len(tables)
    before, after = catalog(source), catalog(destination)
    for part in ("types", "domain checks", "tables", "columns", "constraints", "indexes"):
        assert after[part] == before[part], part
    # Sakila's sequences are owned by no column; init_schema has each owned by its table.
    assert [r[:2] for r in after["sequences"]] == [r[:2] for r in before["sequences"]]
    # Sakila's rows all sit in the parent, dated 2005-2006: move February 2006 into the child
    # for February 2007, then copy the payment tables. A parent read whole (children
    # included) would copy those rows twice.
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(
            "WITH moved AS (DELETE FROM ONLY payment WHERE payment_date >= '2006-02-01' "
            "AND payment_date < '2006-03-01' RETURNING *) INSERT INTO payment_p2007_02 "
            "SELECT payment_id, customer_id, staff_id, rental_id, amount, "
            "payment_date + interval '1 year' FROM moved"
        )
    database = open_database(source)
    schema = database.introspect()
    payments = {k: t for k, t in schema.tables.items() if t.name.startswith("payment")}
    dest_plan = sync_pb2.DestinationPlan()
    plan = build_plan(job_pb2.Job(name="payments"), replace(schema, tables=payments), "src", [])
    targets = [Destination(open_database(destination), dest_plan)]
    for table in plan.tables:
        copy_table(database, targets, table, KEY, lambda *_: None)
    moved = rows(source, "SELECT count(*) FROM payment_p2007_02")[0][0]
    assert moved > 0
    for name in payments:
        query = f"SELECT count(*), sum(amount) FROM ONLY {name}"
        assert rows(destination, query) == rows(source, query), name
    assert (
        database.count("public", "payment")
        == rows(source, "SELECT count(*) FROM ONLY payment")[0][0]
    )
