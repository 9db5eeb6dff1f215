"""The engine against a real MariaDB (MySQL dialect), alone and across to PostgreSQL."""

import datetime as dt
import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import psycopg
import pymysql
import pytest

from services.common.errors import InvalidArgumentError
from services.engine.connectors import open_database
from tests.integration.mariadb import params
from tests.integration.shop import SHOP_SQL, run_sync, shop_job
from veilsync.v1 import job_pb2

MYSQL_SHOP = [
    """CREATE TABLE customers (
        id BIGINT AUTO_INCREMENT PRIMARY KEY, first_name VARCHAR(40) NOT NULL,
        last_name TEXT NOT NULL, email VARCHAR(120) UNIQUE, ssn TEXT, notes TEXT,
        referred_by BIGINT NULL, active TINYINT(1) NOT NULL DEFAULT 1, avatar BLOB,
        created_at DATETIME(6) NOT NULL, CONSTRAINT customers_referred_by_fkey
            FOREIGN KEY (referred_by) REFERENCES customers (id))""",
    """CREATE TABLE orders (
        id BIGINT AUTO_INCREMENT PRIMARY KEY, customer_id BIGINT NOT NULL,
        status ENUM('new', 'paid', 'it''s shipped') NOT NULL DEFAULT 'new',
        total DECIMAL(12, 2) NOT NULL, total_with_tax DECIMAL(12, 2) AS (total * 1.2) STORED,
        meta JSON, UNIQUE KEY orders_customer_order (customer_id, id),
        CONSTRAINT orders_customer_fkey FOREIGN KEY (customer_id) REFERENCES customers (id))""",
    """CREATE TABLE shipments (
        id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, customer_id BIGINT NOT NULL,
        order_id BIGINT NOT NULL, shipped_at TIMESTAMP(6) NULL,
        CONSTRAINT shipments_order_fkey FOREIGN KEY (customer_id, order_id)
            REFERENCES orders (customer_id, id))""",
    "CREATE VIEW paid_orders AS SELECT id, total FROM orders WHERE status = 'paid'",
]

NOTES = (None, "", 'line1\ntab\t"q",\\ it\'s')


def my_rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with pymysql.connect(**params(url)) as conn, conn.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'")
        cur.execute(query)
        return list(cur.fetchall())


def pg_rows(url: str, query: str, schema: str = "public") -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        return conn.execute(query).fetchall()


def make_mysql_shop(url: str, avatars: bool = True) -> None:
    with pymysql.connect(**params(url), autocommit=True) as conn, conn.cursor() as cur:
        for statement in MYSQL_SHOP:
            cur.execute(statement)
        start = dt.datetime(2024, 1, 1)
        cur.executemany(
            "INSERT INTO customers (first_name, last_name, email, ssn, notes, active, avatar, "
            "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    ["Alice", "Bob", "Carol", "Dave"][i % 4],
                    f"Smith{i}",
                    f"user{i}@corp.test",
                    f"{i:09d}",
                    NOTES[i % 3],
                    i % 2,
                    None if i % 4 == 0 or not avatars else bytes([0, 255, 92, i]),
                    start + dt.timedelta(hours=i, microseconds=i),
                )
                for i in range(1, 61)
            ],
        )
        # Referrals point forward and backward, so no insertion order satisfies them.
        cur.execute(
            "UPDATE customers SET referred_by = CASE WHEN id % 2 = 0 THEN id + 1 ELSE id - 1 END "
            "WHERE id % 5 <> 0 AND id BETWEEN 2 AND 59"
        )
        cur.executemany(
            "INSERT INTO orders (customer_id, status, total, meta) VALUES (%s, %s, %s, %s)",
            [
                (
                    1 + i % 60,
                    ["new", "paid", "it's shipped"][i % 3],
                    Decimal(i * 725) / 100,
                    None if i % 5 else json.dumps({"gift": i % 2 == 0, "tags": ["a", "b,c"]}),
                )
                for i in range(1, 151)
            ],
        )
        cur.execute(
            "INSERT INTO shipments (customer_id, order_id, shipped_at) "
            "SELECT customer_id, id, IF(id % 4 = 0, NULL, '2024-02-01 10:00:00.25') FROM orders"
        )


def norm(value: Any) -> Any:
    """One engine-neutral form of a value, for comparing rows across engines."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, str) and value.startswith(("{", "[")):
        return json.loads(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def normed(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [tuple(norm(v) for v in row) for row in rows]


def dangling(rows: Callable[[str, str], list[tuple[Any, ...]]], url: str) -> int:
    """References in the shop that point at no row."""
    total = 0
    for query in (
        "SELECT count(*) FROM customers c LEFT JOIN customers r ON r.id = c.referred_by "
        "WHERE c.referred_by IS NOT NULL AND r.id IS NULL",
        "SELECT count(*) FROM orders o LEFT JOIN customers c ON c.id = o.customer_id "
        "WHERE c.id IS NULL",
        "SELECT count(*) FROM shipments s LEFT JOIN orders o "
        "ON o.id = s.order_id AND o.customer_id = s.customer_id WHERE o.id IS NULL",
    ):
        total += rows(url, query)[0][0]
    return total


def test_introspection_reads_keys_enums_generated_and_identity(
    mysql_database: Callable[[str], str],
) -> None:
    url = mysql_database("src")
    make_mysql_shop(url)
    database = open_database(url)
    assert database.version().startswith(("MariaDB", "MySQL"))
    schema = database.introspect()
    db = url.rsplit("/", 1)[1]
    assert sorted(schema.tables) == [f"{db}.customers", f"{db}.orders", f"{db}.shipments"]
    customers, orders, shipments = (schema.resolve(n) for n in ("customers", "orders", "shipments"))
    assert customers and orders and shipments
    assert customers.primary_key == ("id",) and customers.unique == (("email",),)
    assert customers.foreign_keys[0].columns == ("referred_by",)
    assert customers.foreign_keys[0].ref_qualified == f"{db}.customers"
    columns = {c.name: c for c in customers.columns}
    assert columns["id"].identity == "by default" and not columns["id"].nullable
    assert columns["first_name"].max_length == 40 and columns["first_name"].family == "text"
    assert columns["active"].family == "boolean" and columns["active"].default == "1"
    assert columns["avatar"].family == "binary" and columns["created_at"].family == "temporal"
    status = orders.column("status")
    assert status and status.enum_labels == ("new", "paid", "it's shipped")
    tax = orders.column("total_with_tax")
    assert tax and tax.generated and "total" in tax.generated
    meta = orders.column("meta")
    assert meta and meta.family == "json"
    (fk,) = shipments.foreign_keys
    assert (fk.columns, fk.ref_table, fk.ref_columns) == (
        ("customer_id", "order_id"),
        "orders",
        ("customer_id", "id"),
    )
    assert database.count(db, "orders") == 150


def test_mysql_to_mysql_transforms_and_keeps_references(
    mysql_database: Callable[[str], str],
) -> None:
    source, destination = mysql_database("src"), mysql_database("dst")
    make_mysql_shop(source)
    plan = run_sync(source, destination, shop_job())
    assert [p.name for p in plan.tables] == ["customers", "orders", "shipments"]
    assert list(plan.tables[0].deferred_columns) == ["referred_by"]
    src = my_rows(source, "SELECT * FROM customers ORDER BY id")
    dst = my_rows(destination, "SELECT * FROM customers ORDER BY id")
    assert len(src) == len(dst) == 60
    for before, after in zip(src, dst, strict=True):
        assert after[0] == before[0] and after[6:] == before[6:]  # keys and passthrough
        assert after[1] != before[1] and after[2] != before[2] and after[3] != before[3]
        assert after[4] is None  # ssn nulled
        assert (after[5] is None) == (before[5] is None)  # NULL stays NULL, '' is hashed
    for query in ("SELECT * FROM orders ORDER BY id", "SELECT * FROM shipments ORDER BY id"):
        assert my_rows(source, query) == my_rows(destination, query)
    assert dangling(my_rows, destination) == 0
    assert (
        my_rows(destination, "SELECT count(*) FROM customers WHERE referred_by IS NOT NULL")[0][0]
        == my_rows(source, "SELECT count(*) FROM customers WHERE referred_by IS NOT NULL")[0][0]
    )
    with pymysql.connect(**params(destination), autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO customers (first_name, last_name, created_at) VALUES ('x', 'y', NOW())"
        )
        assert cur.lastrowid == 61  # AUTO_INCREMENT continues after the copied keys
    # A second run with truncate gives the same rows.
    run_sync(source, destination, shop_job())
    assert my_rows(destination, "SELECT * FROM customers ORDER BY id") == dst


def test_mysql_to_postgres(
    mysql_database: Callable[[str], str], pg_database: Callable[[str], str]
) -> None:
    source, destination = mysql_database("src"), pg_database("dst")
    make_mysql_shop(source, avatars=False)
    run_sync(source, destination, job_pb2.Job(name="cross"))
    # PostgreSQL keeps a source's schema name: a MySQL database lands in a schema named so.
    schema = source.rsplit("/", 1)[1]

    def dst_rows(url: str, query: str) -> list[tuple[Any, ...]]:
        return pg_rows(url, query, schema)

    for query in (
        "SELECT * FROM customers ORDER BY id",
        "SELECT id, customer_id, status, total, meta FROM orders ORDER BY id",
        "SELECT * FROM shipments ORDER BY id",
    ):
        before, after = normed(my_rows(source, query)), normed(dst_rows(destination, query))
        assert len(before) == len(after) > 0
        assert before == after
    assert dangling(dst_rows, destination) == 0
    with psycopg.connect(destination) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        new_id = conn.execute(
            "INSERT INTO customers (first_name, last_name, created_at, active) "
            "VALUES ('x', 'y', now(), true) RETURNING id"
        ).fetchone()
    assert new_id == (61,)


def test_mysql_blobs_to_postgres(
    mysql_database: Callable[[str], str], pg_database: Callable[[str], str]
) -> None:
    source, destination = mysql_database("src"), pg_database("dst")
    make_mysql_shop(source)
    run_sync(source, destination, job_pb2.Job(name="cross"))
    query = "SELECT id, avatar FROM customers ORDER BY id"
    schema = source.rsplit("/", 1)[1]
    assert normed(my_rows(source, query)) == normed(pg_rows(destination, query, schema))


PG_SHOP = """
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE people (
    id bigserial PRIMARY KEY, name varchar(40) NOT NULL, bio text, active boolean NOT NULL,
    photo bytea, born date, seen_at timestamptz NOT NULL DEFAULT now(), local_at timestamp,
    balance numeric(12, 2), score double precision, prefs jsonb, token uuid, mood mood,
    mentor_id bigint REFERENCES people (id));
CREATE TABLE visits (
    person_id bigint NOT NULL REFERENCES people (id), seq int NOT NULL,
    amount numeric(10, 2) NOT NULL,
    doubled numeric(12, 2) GENERATED ALWAYS AS (amount * 2) STORED,
    PRIMARY KEY (person_id, seq));
CREATE TABLE visit_notes (
    id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, person_id bigint NOT NULL,
    seq int NOT NULL, note text NOT NULL,
    FOREIGN KEY (person_id, seq) REFERENCES visits (person_id, seq));
SET TimeZone = 'Europe/Paris';
INSERT INTO people (name, bio, active, photo, born, seen_at, local_at, balance, score, prefs,
                    token, mood)
SELECT 'P' || i, (ARRAY[NULL, '', E'a\\tb\\n"c",\\\\ it''s'])[1 + i % 3], i % 2 = 0,
       CASE WHEN i % 4 = 0 THEN NULL WHEN i % 4 = 1 THEN ''::bytea
            ELSE decode('00ff5c' || lpad(to_hex(i), 2, '0'), 'hex') END,
       DATE '1990-01-01' + i, TIMESTAMPTZ '2024-03-31 01:30:00+01' + i * interval '37 minutes',
       TIMESTAMP '2024-01-01 12:00:00.5' + i * interval '1 day', i * 1.25, i / 3.0,
       CASE WHEN i % 2 = 0 THEN jsonb_build_object('n', i, 'tags', ARRAY['x', 'y,z']) END,
       md5(i::text)::uuid, (ARRAY['happy', 'sad'])[1 + i % 2]::mood
FROM generate_series(1, 40) AS i;
UPDATE people SET mentor_id = CASE WHEN id % 2 = 0 THEN id + 1 ELSE id - 1 END
WHERE id BETWEEN 2 AND 39 AND id % 3 <> 0;
INSERT INTO visits (person_id, seq, amount) SELECT 1 + i % 40, i, i * 0.5
FROM generate_series(1, 80) AS i;
INSERT INTO visit_notes (person_id, seq, note) SELECT person_id, seq, 'n' || seq FROM visits;
"""


def test_postgres_to_mysql(
    mysql_database: Callable[[str], str], pg_database: Callable[[str], str]
) -> None:
    source, destination = pg_database("src"), mysql_database("dst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(PG_SHOP)
    run_sync(source, destination, job_pb2.Job(name="cross"))
    for query in (
        "SELECT * FROM people ORDER BY id",
        "SELECT * FROM visits ORDER BY person_id, seq",  # the generated column included
        "SELECT * FROM visit_notes ORDER BY id",
    ):
        before, after = normed(pg_rows(source, query)), normed(my_rows(destination, query))
        assert len(before) == len(after) > 0
        assert before == after
    assert (
        my_rows(
            destination,
            "SELECT count(*) FROM people p LEFT JOIN people m ON m.id = p.mentor_id "
            "WHERE p.mentor_id IS NOT NULL AND m.id IS NULL",
        )[0][0]
        == 0
    )
    assert my_rows(destination, "SELECT count(*) FROM people WHERE mentor_id IS NOT NULL")[0][0] > 0
    dangling_notes = my_rows(
        destination,
        "SELECT count(*) FROM visit_notes n LEFT JOIN visits v "
        "ON v.person_id = n.person_id AND v.seq = n.seq WHERE v.seq IS NULL",
    )
    assert dangling_notes == [(0,)]


def test_a_type_mysql_cannot_hold_fails_before_any_write(
    mysql_database: Callable[[str], str], pg_database: Callable[[str], str]
) -> None:
    source, destination = pg_database("src"), mysql_database("dst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(SHOP_SQL)  # order_items.tags is text[]
    with pytest.raises(
        InvalidArgumentError, match=r"column tags of type text\[\] cannot be mapped"
    ):
        run_sync(source, destination, shop_job())
    assert open_database(destination).existing_tables() == set()


def test_a_subset_rooted_at_a_child_keeps_its_parents_on_mysql(
    mysql_database: Callable[[str], str],
) -> None:
    source, destination = mysql_database("src"), mysql_database("dst")
    make_mysql_shop(source)
    job = job_pb2.Job(name="subset")
    job.source.subsets.add(table="shipments", where="order_id <= 30")
    job.source.subset_by_foreign_keys = True  # parents follow their kept children

    run_sync(source, destination, job)

    assert my_rows(destination, "SELECT count(*) FROM shipments") == [(30,)]
    wanted = my_rows(source, "SELECT count(DISTINCT order_id) FROM shipments WHERE order_id <= 30")
    assert my_rows(destination, "SELECT count(*) FROM orders") == wanted
    dangling = {
        "shipments -> orders (composite)": "SELECT count(*) FROM shipments s LEFT JOIN orders o "
        "ON o.customer_id = s.customer_id AND o.id = s.order_id WHERE o.id IS NULL",
        "orders -> customers": "SELECT count(*) FROM orders o LEFT JOIN customers c "
        "ON c.id = o.customer_id WHERE c.id IS NULL",
        "customers -> customers": "SELECT count(*) FROM customers c LEFT JOIN customers r "
        "ON r.id = c.referred_by WHERE c.referred_by IS NOT NULL AND r.id IS NULL",
    }
    for name, query in dangling.items():
        assert my_rows(destination, query) == [(0,)], name
