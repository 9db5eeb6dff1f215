"""Subsets on real PostgreSQL: filtered roots, children following parents, parents following
children, deferred self-references, virtual foreign keys — always 100% valid foreign keys."""

from typing import Any

import psycopg
import pytest

from services.common.errors import InvalidArgumentError
from tests.integration.shop import check_job, rows, run_sync, shop_job
from veilsync.v1 import job_pb2

FOREIGN_KEYS = {
    "orders -> customers": "SELECT count(*) FROM orders o LEFT JOIN customers c "
    "ON c.id = o.customer_id WHERE c.id IS NULL",
    "order_items -> orders": "SELECT count(*) FROM order_items i LEFT JOIN orders o "
    "ON o.id = i.order_id WHERE o.id IS NULL",
    "customers -> customers": "SELECT count(*) FROM customers c LEFT JOIN customers r "
    "ON r.id = c.referred_by WHERE c.referred_by IS NOT NULL AND r.id IS NULL",
}


def subset_job(by_foreign_keys: bool, **wheres: str) -> job_pb2.Job:
    job = shop_job()
    job.source.subset_by_foreign_keys = by_foreign_keys
    for table, where in wheres.items():
        job.source.subsets.add(table=table, where=where)
    return job


def assert_foreign_keys_valid(url: str) -> None:
    for name, query in FOREIGN_KEYS.items():
        assert rows(url, query) == [(0,)], name


def count(url: str, table: str) -> int:
    return int(rows(url, f"SELECT count(*) FROM {table}")[0][0])


def test_children_follow_a_filtered_parent(shop: tuple[str, str]) -> None:
    source, destination = shop
    run_sync(source, destination, subset_job(True, customers="id <= 10"))
    assert_foreign_keys_valid(destination)
    assert count(destination, "customers") == 10
    expected_orders = count(source, "orders WHERE customer_id <= 10")
    assert 0 < count(destination, "orders") == expected_orders
    expected_items = count(
        source, "order_items WHERE order_id IN (SELECT id FROM orders WHERE customer_id <= 10)"
    )
    assert count(destination, "order_items") == expected_items
    # Referrals to customers outside the subset were written as NULL, the others kept.
    kept = rows(source, "SELECT count(*) FROM customers WHERE id <= 10 AND referred_by <= 10")[0][0]
    assert count(destination, "customers WHERE referred_by IS NOT NULL") == kept > 0


def test_a_filtered_child_keeps_its_rows_and_pulls_its_parents(pg_database: Any) -> None:
    """The report's case: p(id) <- c(p_id NOT NULL); a filter on c once copied 0 rows."""
    source, destination = pg_database("src"), pg_database("dst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE p (id int PRIMARY KEY);"
            "CREATE TABLE c (id int PRIMARY KEY, p_id int NOT NULL REFERENCES p);"
            "INSERT INTO p SELECT generate_series(1, 10);"
            "INSERT INTO c SELECT i, 1 + i % 10 FROM generate_series(1, 100) i"
        )
    job = job_pb2.Job(source=job_pb2.JobSource(subset_by_foreign_keys=True))
    job.source.subsets.add(table="c", where="id <= 5")
    run_sync(source, destination, job)
    assert rows(destination, "SELECT id FROM c ORDER BY id") == [(i,) for i in range(1, 6)]
    assert rows(destination, "SELECT id FROM p ORDER BY id") == [(i,) for i in range(2, 7)]


def test_a_filter_on_orders_keeps_their_lines_and_customers(shop: tuple[str, str]) -> None:
    source, destination = shop
    run_sync(source, destination, subset_job(True, orders="id <= 30"))
    assert_foreign_keys_valid(destination)
    assert count(destination, "orders") == 30
    assert count(destination, "order_items") == count(source, "order_items WHERE order_id <= 30")
    customers = count(source, "(SELECT DISTINCT customer_id FROM orders WHERE id <= 30) AS c")
    assert count(destination, "customers") == customers < count(source, "customers")


def test_parents_follow_a_filtered_child(shop: tuple[str, str]) -> None:
    source, destination = shop
    run_sync(source, destination, subset_job(True, order_items="id <= 40"))
    assert_foreign_keys_valid(destination)
    assert count(destination, "order_items") == 40
    referenced = count(source, "(SELECT DISTINCT order_id FROM order_items WHERE id <= 40) AS kept")
    assert count(destination, "orders") == referenced < count(source, "orders")
    customers = count(
        source,
        "(SELECT DISTINCT customer_id FROM orders WHERE id IN "
        "(SELECT order_id FROM order_items WHERE id <= 40)) AS kept",
    )
    assert count(destination, "customers") == customers < count(source, "customers")


def test_without_children_following_a_filter_holds_and_only_dangling_rows_go(
    shop: tuple[str, str],
) -> None:
    """Once, unfiltered children pulled every order back in; now the filter holds, the
    other tables are copied whole, and only the rows that would dangle are left out."""
    source, destination = shop
    run_sync(source, destination, subset_job(False, orders="id <= 30"))
    assert_foreign_keys_valid(destination)
    assert count(destination, "orders") == 30
    assert count(destination, "customers") == count(source, "customers")
    assert count(destination, "order_items") == count(source, "order_items WHERE order_id <= 30")


def test_virtual_foreign_keys_order_and_subset_like_real_ones(shop: tuple[str, str]) -> None:
    source, destination = shop
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE notes (id bigint PRIMARY KEY, customer_ref bigint NOT NULL, body text);"
            "INSERT INTO notes SELECT i, 1 + i % 60, 'n' || i FROM generate_series(1, 90) i"
        )
    job = subset_job(True, customers="id <= 5")
    job.source.virtual_foreign_keys.add(
        table="notes",
        columns=["customer_ref"],
        references_table="customers",
        references_columns=["id"],
    )
    run_sync(source, destination, job)
    assert count(destination, "notes") == count(source, "notes WHERE customer_ref <= 5") > 0


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("id IN (SELECT id FROM orders)", "subqueries"),
        ("id < 10; DROP TABLE customers", "one boolean expression"),
        ("nope = 1", "column 'nope' does not exist"),
        ("orders.id = 1", "is not a column of public.customers"),
        ("42", "one boolean expression"),
        ("id <", "not a valid SQL expression"),
        ("pg_sleep(10) IS NULL", r"pg_sleep\(\) is not allowed"),
    ],
)
def test_a_bad_where_clause_is_refused_naming_the_field(
    shop: tuple[str, str], where: str, message: str
) -> None:
    job = subset_job(True, customers=where)
    with pytest.raises(InvalidArgumentError, match=message) as error:
        check_job(job, shop[0])
    assert error.value.field == "job.source.subsets[0].where"


def test_a_subset_of_an_unknown_table_is_refused(shop: tuple[str, str]) -> None:
    with pytest.raises(InvalidArgumentError, match="does not exist") as error:
        check_job(subset_job(True, nowhere="id < 1"), shop[0])
    assert error.value.field == "job.source.subsets[0].table"
