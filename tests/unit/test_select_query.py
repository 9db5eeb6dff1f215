"""The one SELECT the connectors read with, as exact SQL text."""

import pytest

from services.engine.connectors.base import ReadRequest
from services.engine.connectors.select import select_query


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def test_a_plain_read_selects_the_columns_unordered() -> None:
    request = ReadRequest("public", "users", ["id", 'odd"name'])

    assert select_query(request, quote, "%s") == (
        'SELECT "id", "odd""name" FROM "public"."users"',
        [],
    )


def test_a_key_range_bounds_the_composite_key_and_orders_by_it() -> None:
    request = ReadRequest(
        "public",
        "events",
        ["region", "seq", "note"],
        key=["region", "seq"],
        after=["eu", "7"],
        until=["us", "3"],
    )

    assert select_query(request, quote, "%s") == (
        'SELECT "region", "seq", "note" FROM "public"."events" '
        'WHERE (("region", "seq") > (%s, %s)) AND (("region", "seq") <= (%s, %s)) '
        'ORDER BY "region", "seq"',
        ["eu", "7", "us", "3"],
    )


def test_a_key_without_bounds_only_orders() -> None:
    request = ReadRequest("main", "t", ["a"], key=["a"], where="a > 1")

    assert select_query(request, quote, "?") == (
        'SELECT "a" FROM "main"."t" WHERE (a > 1) ORDER BY "a"',
        [],
    )


@pytest.mark.parametrize(
    ("placeholder", "pattern"),
    [("%s", "'kept%%'"), ("?", "'kept%'")],
)
def test_a_where_percent_is_doubled_only_beside_percent_s_parameters(
    placeholder: str, pattern: str
) -> None:
    request = ReadRequest("s", "t", ["id"], key=["id"], after=["5"], where="note LIKE 'kept%'")

    assert select_query(request, quote, placeholder) == (
        f'SELECT "id" FROM "s"."t" WHERE (note LIKE {pattern}) AND (("id") > ({placeholder})) '
        'ORDER BY "id"',
        ["5"],
    )


def test_a_where_percent_stays_single_without_parameters() -> None:
    request = ReadRequest("s", "t", ["id"], where="note LIKE 'kept%'")

    assert select_query(request, quote, "%s") == (
        """SELECT "id" FROM "s"."t" WHERE (note LIKE 'kept%')""",
        [],
    )


def test_a_percent_in_a_name_or_expression_is_doubled_beside_percent_s_parameters() -> None:
    request = ReadRequest(
        "s",
        "t",
        ["id", "rate%"],
        key=["id"],
        until=["9"],
        expressions={"rate%": "'5%'"},
    )

    assert select_query(request, lambda name: f"`{name}`", "%s") == (
        "SELECT `id`, '5%%' AS `rate%%` FROM `s`.`t` WHERE ((`id`) <= (%s)) ORDER BY `id`",
        ["9"],
    )


def test_an_expression_is_read_under_its_column_name() -> None:
    request = ReadRequest(
        "public",
        "orders",
        ["id", "customer_id"],
        expressions={"customer_id": "CASE WHEN id > 2 THEN customer_id END"},
    )

    assert select_query(request, lambda name: f"`{name}`", "%s") == (
        "SELECT `id`, CASE WHEN id > 2 THEN customer_id END AS `customer_id` "
        "FROM `public`.`orders`",
        [],
    )
