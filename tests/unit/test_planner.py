import pytest

from services.common.errors import InvalidArgumentError
from services.engine.planning.load_order import plan_tables
from services.engine.schema import Column, ForeignKey, Table, TypeFamily


def col(name: str, nullable: bool = True) -> Column:
    return Column(name=name, data_type="bigint", family=TypeFamily.INTEGER, nullable=nullable)


def table(name: str, *fks: tuple[str, str, bool]) -> Table:
    """fks: (column, referenced table, nullable)."""
    return Table(
        schema="public",
        name=name,
        columns=(col("id", False), *(col(c, n) for c, _, n in fks)),
        primary_key=("id",),
        foreign_keys=tuple(
            ForeignKey(f"{name}_{c}_fk", (c,), "public", ref, ("id",)) for c, ref, _ in fks
        ),
    )


def names(steps: list) -> list[str]:
    return [s.table.qualified for s in steps]


def test_parents_come_before_children() -> None:
    steps = plan_tables(
        [
            table("order_items", ("order_id", "orders", False)),
            table("orders", ("customer_id", "customers", False)),
            table("customers"),
        ]
    )
    assert names(steps) == ["public.customers", "public.orders", "public.order_items"]
    assert steps[2].depends_on == ("public.orders",)
    assert all(not s.deferred_columns for s in steps)


def test_self_reference_is_deferred_when_nullable() -> None:
    [step] = plan_tables([table("customers", ("referred_by", "customers", True))])
    assert step.deferred_columns == ("referred_by",)
    assert step.depends_on == ()


def test_non_nullable_self_reference_is_rejected_naming_it() -> None:
    with pytest.raises(InvalidArgumentError, match=r"public\.nodes -> public\.nodes"):
        plan_tables([table("nodes", ("parent_id", "nodes", False))])


def test_two_table_cycle_is_broken_at_the_nullable_key() -> None:
    steps = plan_tables(
        [
            table("departments", ("manager_id", "employees", True)),
            table("employees", ("department_id", "departments", False)),
        ]
    )
    assert names(steps) == ["public.departments", "public.employees"]
    assert steps[0].deferred_columns == ("manager_id",)
    assert steps[1].depends_on == ("public.departments",)


def test_cycle_without_nullable_key_is_rejected() -> None:
    with pytest.raises(InvalidArgumentError, match="no nullable foreign-key column"):
        plan_tables(
            [
                table("a", ("b_id", "b", False)),
                table("b", ("c_id", "c", False)),
                table("c", ("a_id", "a", False)),
            ]
        )


def test_references_outside_the_selection_are_ignored() -> None:
    [step] = plan_tables([table("orders", ("customer_id", "customers", False))])
    assert step.depends_on == ()


def test_independent_tables_have_no_dependencies() -> None:
    steps = plan_tables([table("b"), table("a"), table("c", ("a_id", "a", False))])
    assert names(steps) == ["public.a", "public.b", "public.c"]
    assert [s.depends_on for s in steps] == [(), (), ("public.a",)]
