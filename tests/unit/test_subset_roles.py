"""Which rows of each table a subset keeps is decided by its role; roles on a schema a
reader can check by eye: employees <- customers <- orders <- order_lines -> products,
customer_notes -> customers, and an unrelated countries table."""

import pytest

from services.common.errors import InvalidArgumentError
from services.engine.planning.load_order import plan_tables
from services.engine.planning.subset import Role, Subsetter
from services.engine.planning.where_clause import parse_where
from services.engine.schema import Column, ForeignKey, Table, TypeFamily


def _table(name: str, *refs: str, nullable: bool = False) -> Table:
    columns = [Column("id", "int", TypeFamily.INTEGER, False)]
    fks = []
    for ref in refs:
        columns.append(Column(f"{ref}_id", "int", TypeFamily.INTEGER, nullable or ref == name))
        fks.append(ForeignKey(f"{name}_{ref}", (f"{ref}_id",), "public", ref, ("id",)))
    return Table("public", name, tuple(columns), ("id",), foreign_keys=tuple(fks))


SHOP = [
    _table("employees", "employees"),  # reports_to: a nullable self-reference
    _table("customers", "employees"),
    _table("orders", "customers"),
    _table("products"),
    _table("order_lines", "orders", "products"),
    _table("customer_notes", "customers"),
    _table("countries"),
]


def _roles(by_foreign_keys: bool, **wheres: str) -> dict[str, Role]:
    tables = {t.name: t for t in SHOP}
    parsed = {
        f"public.{name}": parse_where(tables[name], where, "postgres", "where")
        for name, where in wheres.items()
    }
    subsetter = Subsetter(plan_tables(SHOP), parsed, by_foreign_keys, "postgres")
    return {name.removeprefix("public."): role for name, role in subsetter.roles.items()}


def test_a_filter_on_orders_keeps_their_lines_and_pulls_what_they_reference() -> None:
    assert _roles(True, orders="id < 10") == {
        "orders": Role.ROOT,
        "order_lines": Role.FOLLOWS,
        "customers": Role.PULLED,
        "employees": Role.PULLED,
        "products": Role.PULLED,
        "customer_notes": Role.CHECKED,  # the notes of kept customers
        "countries": Role.WHOLE,
    }


def test_without_children_following_only_descendants_of_roots_lose_rows() -> None:
    assert _roles(False, orders="id < 10") == {
        "orders": Role.ROOT,
        "order_lines": Role.CHECKED,
        "customers": Role.WHOLE,
        "employees": Role.WHOLE,
        "products": Role.WHOLE,
        "customer_notes": Role.WHOLE,
        "countries": Role.WHOLE,
    }


def test_the_predicate_of_a_parent_without_a_clause_never_excludes_its_own_rows() -> None:
    """The old `1 = 0` for ancestors without a clause: they keep what kept rows reference."""
    tables = {t.name: t for t in SHOP}
    where = {"public.orders": parse_where(tables["orders"], "id < 10", "postgres", "where")}
    subsetter = Subsetter(plan_tables(SHOP), where, True, "postgres")
    predicate = subsetter.where("public.customers")
    assert "1 = 0" not in predicate
    assert predicate.startswith('(("public"."customers"."id") IN (SELECT')


@pytest.mark.parametrize("by_foreign_keys", [True, False])
def test_a_root_keeps_its_own_clause_first(by_foreign_keys: bool) -> None:
    tables = {t.name: t for t in SHOP}
    where = {"public.customers": parse_where(tables["customers"], "id < 5", "postgres", "w")}
    subsetter = Subsetter(plan_tables(SHOP), where, by_foreign_keys, "postgres")
    assert subsetter.where("public.customers") == '("public"."customers"."id" < 5)'


def test_an_inheritance_parent_is_read_without_its_childrens_rows() -> None:
    """PostgreSQL's `FROM payment` reads payment_p2007_01's rows too: semi-joins say ONLY."""
    tables = {t.name: t for t in SHOP}
    child = Table(
        "public", "orders_2007", tables["orders"].columns, ("id",), inherits=(("public", "orders"),)
    )
    where = {"public.orders": parse_where(tables["orders"], "id < 10", "postgres", "where")}
    subsetter = Subsetter(plan_tables([*SHOP, child]), where, True, "postgres")
    assert 'FROM ONLY "public"."orders"' in subsetter.where("public.order_lines")
    assert 'FROM "public"."orders_2007"' not in subsetter.where("public.order_lines")


STORES = [
    _table("address"),
    _table("staff", "address", "store"),  # staff.store_id and store.manager NOT NULL: Sakila
    _table("store", "address", "staff"),
    _table("rental", "staff"),
]


def test_a_cycle_without_a_nullable_column_is_copied_whole_when_only_parents_reach_it() -> None:
    tables = {t.name: t for t in STORES}
    where = {"public.rental": parse_where(tables["rental"], "id < 10", "postgres", "where")}
    subsetter = Subsetter(plan_tables(STORES), where, True, "postgres")
    assert subsetter.roles["public.staff"] is subsetter.roles["public.store"] is Role.WHOLE
    assert subsetter.roles["public.address"] is Role.PULLED  # what staff and store reference
    assert subsetter.where("public.staff") == ""


def test_a_filter_inside_a_cycle_without_a_nullable_column_is_refused() -> None:
    tables = {t.name: t for t in STORES}
    where = {"public.address": parse_where(tables["address"], "id < 10", "postgres", "where")}
    with pytest.raises(InvalidArgumentError, match=r"public\.staff, public\.store") as error:
        Subsetter(plan_tables(STORES), where, True, "postgres")
    assert error.value.field == "job.source.subsets"
