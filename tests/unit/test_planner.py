from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_non_nullable_self_reference_is_relaxed_in_a_group_of_its_own() -> None:
    [step] = plan_tables([table("nodes", ("parent_id", "nodes", False))])
    assert [fk.name for fk in step.relaxed_foreign_keys] == ["nodes_parent_id_fk"]
    assert step.load_group == "public.nodes"
    assert step.deferred_columns == () and step.depends_on == ()


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


def test_cycle_without_nullable_key_is_loaded_as_one_group() -> None:
    steps = plan_tables(
        [
            table("a", ("b_id", "b", False)),
            table("b", ("c_id", "c", False)),
            table("c", ("a_id", "a", False)),
        ]
    )
    # One key relaxed (a's, into b) is enough: a, c, b is then a valid order for the others.
    assert names(steps) == ["public.a", "public.c", "public.b"]
    assert [[fk.name for fk in s.relaxed_foreign_keys] for s in steps] == [["a_b_id_fk"], [], []]
    assert {s.load_group for s in steps} == {"public.a"}
    assert all(s.depends_on == () and not s.deferred_columns for s in steps)


def test_sakila_staff_and_store_form_a_group_the_rest_waits_for() -> None:
    """Sakila's staff.store_id and store.manager_staff_id are both NOT NULL."""
    steps = plan_tables(
        [
            table("address"),
            table("staff", ("store_id", "store", False), ("address_id", "address", False)),
            table("store", ("manager_staff_id", "staff", False), ("address_id", "address", False)),
            table("customer", ("store_id", "store", False), ("address_id", "address", False)),
            table("rental", ("staff_id", "staff", False), ("customer_id", "customer", False)),
        ]
    )
    by_name = {s.table.name: s for s in steps}
    assert names(steps) == [
        "public.address",
        "public.staff",
        "public.store",
        "public.customer",
        "public.rental",
    ]
    # The group's members are adjacent, wait for what either waits for, and nothing else
    # waits on one member only.
    assert by_name["staff"].depends_on == by_name["store"].depends_on == ("public.address",)
    assert by_name["staff"].load_group == by_name["store"].load_group == "public.staff"
    relaxed = [fk.name for s in steps for fk in s.relaxed_foreign_keys]
    assert relaxed == ["staff_store_id_fk"]
    assert by_name["customer"].load_group == "" and by_name["rental"].load_group == ""
    assert by_name["rental"].depends_on == ("public.customer", "public.staff")


def test_nullable_keys_break_what_they_can_before_any_key_is_relaxed() -> None:
    """a <-> b is broken by b's nullable key; b <-> c has none and is relaxed."""
    steps = plan_tables(
        [
            table("a", ("b_id", "b", False)),
            table("b", ("a_id", "a", True), ("c_id", "c", False)),
            table("c", ("b_id", "b", False)),
        ]
    )
    by_name = {s.table.name: s for s in steps}
    assert by_name["b"].deferred_columns == ("a_id",)
    assert [fk.name for s in steps for fk in s.relaxed_foreign_keys] == ["b_c_id_fk"]
    assert {s.table.name for s in steps if s.load_group} == {"b", "c"}
    assert by_name["a"].load_group == "" and by_name["a"].depends_on == ("public.b",)


def test_a_keyless_table_has_its_nullable_key_relaxed_rather_than_deferred() -> None:
    """A deferred column is filled in by primary key; a table without one cannot be."""
    keyless = Table(
        "public",
        "log",
        (col("id", False), col("owner_id")),
        foreign_keys=(ForeignKey("log_owner_fk", ("owner_id",), "public", "owner", ("id",)),),
    )
    steps = plan_tables([keyless, table("owner", ("last_log_id", "log", False))])
    by_name = {s.table.name: s for s in steps}
    assert by_name["log"].deferred_columns == ()
    assert [fk.name for s in steps for fk in s.relaxed_foreign_keys] == ["log_owner_fk"]
    assert by_name["log"].load_group == by_name["owner"].load_group == "public.log"


def test_references_outside_the_selection_are_ignored() -> None:
    [step] = plan_tables([table("orders", ("customer_id", "customers", False))])
    assert step.depends_on == ()


def test_independent_tables_have_no_dependencies() -> None:
    steps = plan_tables([table("b"), table("a"), table("c", ("a_id", "a", False))])
    assert names(steps) == ["public.a", "public.b", "public.c"]
    assert [s.depends_on for s in steps] == [(), (), ("public.a",)]


def nullable(table: Table, fk: ForeignKey) -> bool:
    return all(c.nullable for c in table.columns if c.name in fk.columns)


@st.composite
def graphs(draw: st.DrawFn) -> list[Table]:
    """Up to 6 tables, some without a primary key, with random (self-)references."""
    size = draw(st.integers(1, 6))
    tables = []
    for i in range(size):
        refs = draw(st.lists(st.tuples(st.integers(0, size - 1), st.booleans()), max_size=3))
        keyed = draw(st.integers(0, 7)) > 0
        tables.append(
            Table(
                "public",
                f"t{i}",
                (col("id", False), *(col(f"r{k}", n) for k, (_, n) in enumerate(refs))),
                primary_key=("id",) if keyed else (),
                foreign_keys=tuple(
                    ForeignKey(f"t{i}_r{k}_fk", (f"r{k}",), "public", f"t{p}", ("id",))
                    for k, (p, _) in enumerate(refs)
                ),
            )
        )
    return tables


@settings(max_examples=300, deadline=None)
@given(tables=graphs())
def test_every_reference_is_ordered_deferred_or_relaxed_within_its_group(
    tables: list[Table],
) -> None:
    steps = plan_tables(tables)
    assert sorted(names(steps)) == sorted(t.qualified for t in tables)
    at = {s.table.qualified: i for i, s in enumerate(steps)}
    group = {s.table.qualified: s.load_group for s in steps}
    for step in steps:
        name, table = step.table.qualified, step.table
        for fk in table.foreign_keys:
            if fk in step.relaxed_foreign_keys:
                # Relaxed only when no deferral could do: never a nullable key of a keyed table.
                assert not (table.primary_key and nullable(table, fk))
                assert step.load_group and group[fk.ref_qualified] == step.load_group
            elif set(fk.columns) <= set(step.deferred_columns):
                assert table.primary_key and nullable(table, fk)
            else:
                assert at[fk.ref_qualified] < at[name]
                if group[fk.ref_qualified] != step.load_group or not step.load_group:
                    assert fk.ref_qualified in step.depends_on
    groups: dict[str, list[int]] = {}
    for i, step in enumerate(steps):
        if step.load_group:
            groups.setdefault(step.load_group, []).append(i)
        for waited in step.depends_on:
            assert at[waited] < i
            assert not step.load_group or group[waited] != step.load_group
    for positions in groups.values():
        members = [steps[i] for i in positions]
        assert positions == list(range(positions[0], positions[-1] + 1))  # adjacent
        assert len({m.depends_on for m in members}) == 1
        assert any(m.relaxed_foreign_keys for m in members)
        assert not {d for m in members for d in m.depends_on} & {m.table.qualified for m in members}
