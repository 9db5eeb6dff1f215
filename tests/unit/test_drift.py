"""How a job does not fit its source's schema, and what drifted since it was saved."""

import json
from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.errors import InvalidArgumentError
from services.engine.connectors.base import Database
from services.engine.planning.drift import (
    Snapshot,
    job_violations,
    parse_snapshot,
    snapshot,
    snapshot_json,
)
from services.engine.planning.job_plan import JobShape, check_plan, validation_report
from services.engine.planning.rules import Kind, Violation, mapping_violations, resolve_mappings
from services.engine.schema import Column, ForeignKey, Schema, Table, TypeFamily
from veilsync.v1 import job_pb2
from veilsync.v1 import transformer_pb2 as t

EMAIL = t.TransformerConfig(transform_email=t.TransformEmail())
NULL = t.TransformerConfig(null=t.Null())
SCRAMBLE = t.TransformerConfig(transform_scramble_identity=t.TransformScrambleIdentity())


def bigint(name: str, nullable: bool = False) -> Column:
    return Column(name, "bigint", TypeFamily.INTEGER, nullable)


def text(name: str, nullable: bool = True) -> Column:
    return Column(name, "text", TypeFamily.TEXT, nullable)


def fk(column: str, ref: str) -> ForeignKey:
    return ForeignKey(f"{column}_fk", (column,), "public", ref, ("id",))


def shop(*extra: Table, customers: tuple[Column, ...] | None = None) -> Schema:
    tables = [
        Table(
            "public",
            "customers",
            customers or (bigint("id"), text("email", nullable=False), text("note")),
            primary_key=("id",),
        ),
        Table(
            "public",
            "orders",
            (
                bigint("id"),
                bigint("customer_id"),
                Column("total", "numeric", TypeFamily.NUMERIC, True),
            ),
            primary_key=("id",),
            foreign_keys=(fk("customer_id", "customers"),),
        ),
        *extra,
    ]
    return Schema({table.qualified: table for table in tables})


def job(**mappings: dict[str, t.TransformerConfig]) -> job_pb2.Job:
    result = job_pb2.Job(name="j")
    for table, columns in mappings.items():
        mapping = result.mappings.add(table=table.replace("__", "."))
        for column, config in columns.items():
            mapping.columns[column].CopyFrom(config)
    return result


def kinds(violations: list[Violation]) -> list[tuple[Kind, str, str, bool]]:
    return [(v.kind, v.table, v.column, v.error) for v in violations]


def test_a_fitting_job_has_no_violations() -> None:
    assert job_violations(job(customers={"email": EMAIL, "note": NULL}), shop(), None) == []
    assert job_violations(job(public__customers={"email": EMAIL}), shop(), None) == []


def test_snapshots_round_trip_through_json() -> None:
    schema = shop()
    assert snapshot(schema) == {
        "public.customers": {"id": "bigint", "email": "text", "note": "text"},
        "public.orders": {"id": "bigint", "customer_id": "bigint", "total": "numeric"},
    }
    text_form = snapshot_json(schema)
    assert list(json.loads(text_form)) == sorted(snapshot(schema))
    assert parse_snapshot(text_form) == snapshot(schema)
    assert parse_snapshot("") is None
    assert parse_snapshot(None) is None


def test_unknown_tables_and_columns_name_their_field() -> None:
    found = job_violations(job(invoices={"x": EMAIL}, customers={"phone": EMAIL}), shop(), None)
    assert [(v.kind, v.field, v.table, v.column) for v in found] == [
        (Kind.UNKNOWN_TABLE, "job.mappings[0].table", "invoices", ""),
        (Kind.UNKNOWN_COLUMN, "job.mappings[1].columns[phone]", "public.customers", "phone"),
    ]
    assert all(v.error for v in found)


def test_transformers_that_do_not_fit_the_column_are_type_mismatches() -> None:
    found = job_violations(job(customers={"email": NULL}, orders={"total": EMAIL}), shop(), None)
    assert [(v.kind, v.field) for v in found] == [
        (Kind.TYPE_MISMATCH, "job.mappings[0].columns[email]"),
        (Kind.TYPE_MISMATCH, "job.mappings[1].columns[total]"),
    ]
    assert "NOT NULL" in found[0].description
    assert "numeric" in found[1].description
    # Each problem is collected, not raised: the fitting column is not reported.
    found = job_violations(job(customers={"email": NULL, "note": NULL}), shop(), None)
    assert [v.column for v in found] == ["email"]


def test_a_reference_transformed_unlike_its_key_is_refused() -> None:
    # The key alone is enough: its references inherit its transformer (key_propagation).
    assert job_violations(job(customers={"id": SCRAMBLE}), shop(), None) == []
    both = job(customers={"id": SCRAMBLE}, orders={"customer_id": SCRAMBLE})
    assert job_violations(both, shop(), None) == []
    found = job_violations(job(orders={"customer_id": SCRAMBLE}), shop(), None)
    assert kinds(found) == [(Kind.INCONSISTENT_KEY, "public.orders", "customer_id", True)]
    assert "public.customers.id" in found[0].description


def test_a_cycle_without_a_nullable_key_is_no_violation() -> None:
    """Such a cycle is loaded with its constraints relaxed (planning.load_order); whether a
    destination can do that is checked when a run prepares it."""
    a = Table(
        "public", "a", (bigint("id"), bigint("b_id")), ("id",), foreign_keys=(fk("b_id", "b"),)
    )
    b = Table(
        "public", "b", (bigint("id"), bigint("a_id")), ("id",), foreign_keys=(fk("a_id", "a"),)
    )
    assert job_violations(job(), shop(a, b), None) == []


def test_nothing_drifted() -> None:
    schema = shop()
    assert job_violations(job(customers={"email": EMAIL}), schema, snapshot(schema)) == []


def test_drift_since_the_job_was_saved() -> None:
    saved: Snapshot = {
        "public.customers": {"id": "integer", "email": "text", "phone": "text"},
        "public.orders": {"id": "bigint", "customer_id": "bigint", "total": "numeric"},
        "public.coupons": {"code": "text"},
    }
    now = shop(
        Table("public", "audit", (bigint("id"),), ("id",)),
        customers=(bigint("id"), text("email", nullable=False), text("note"), text("ssn")),
    )
    found = job_violations(job(customers={"email": EMAIL, "ssn": NULL}), now, saved)
    assert kinds(found) == [
        # Errors first: what the job was built on is gone.
        (Kind.REMOVED, "public.coupons", "", True),
        (Kind.REMOVED, "public.customers", "phone", True),
        # Then warnings; ssn is new but mapped, so only note is reported.
        (Kind.UNMAPPED_NEW_COLUMN, "public.customers", "note", False),
        (Kind.TYPE_CHANGED, "public.customers", "id", False),
        (Kind.UNMAPPED_NEW_COLUMN, "public.audit", "", False),
    ]
    assert "integer to bigint" in found[3].description


def test_mapping_errors_come_before_drift_warnings() -> None:
    schema = shop()
    saved = snapshot(schema)
    del saved["public.orders"]["total"]
    found = job_violations(job(customers={"phone": EMAIL}), schema, saved)
    assert [(v.kind, v.error) for v in found] == [
        (Kind.UNKNOWN_COLUMN, True),
        (Kind.UNMAPPED_NEW_COLUMN, False),
    ]


def test_a_table_mapped_twice_is_reported_as_planning_refuses_it() -> None:
    twice = job(customers={"email": EMAIL}, public__customers={"note": NULL})
    found = job_violations(twice, shop(), None)
    assert [(v.kind, v.field) for v in found] == [(Kind.INVALID_MAPPING, "job.mappings[1].table")]
    with pytest.raises(InvalidArgumentError, match="mapped twice"):
        resolve_mappings(twice, shop())


CONFIGS = [
    EMAIL,
    NULL,
    SCRAMBLE,
    t.TransformerConfig(),
    t.TransformerConfig(passthrough=t.Passthrough()),
]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["customers", "public.orders", "invoices", "orders"]),
            st.dictionaries(
                st.sampled_from(["id", "email", "note", "customer_id", "total", "nope"]),
                st.sampled_from(range(len(CONFIGS))),
                max_size=3,
            ),
        ),
        max_size=4,
    )
)
def test_planning_stops_at_the_first_error_validation_collects(
    mappings: list[tuple[str, dict[str, int]]],
) -> None:
    """One rule set, two callers: planning raises exactly the first error ValidateJob
    reports, and accepts exactly the jobs ValidateJob finds no error in."""
    spec = job_pb2.Job(name="j")
    for table, columns in mappings:
        mapping = spec.mappings.add(table=table)
        for column, config in columns.items():
            mapping.columns[column].CopyFrom(CONFIGS[config])
    errors = [v for v in mapping_violations(spec, shop()) if v.error]
    if not errors:
        resolved = resolve_mappings(spec, shop())
        assert set(resolved) <= {"public.customers", "public.orders"}
        return
    with pytest.raises(InvalidArgumentError) as raised:
        resolve_mappings(spec, shop())
    assert (raised.value.field, raised.value.description) == (
        errors[0].field,
        errors[0].description,
    )
    assert set(job_violations(spec, shop(), None)) >= set(errors)


def shape_of(spec: job_pb2.Job, schema: Schema) -> JobShape:
    # Planning a job reads nothing more from its database once the schema is read.
    return JobShape(spec, [], "src", cast(Database, None), schema)


def test_the_report_names_what_else_planning_refuses() -> None:
    spec = job(customers={"email": EMAIL})
    spec.source.subsets.add(table="customers", where="1=1; DROP TABLE customers")
    found = validation_report(shape_of(spec, shop()), None)
    assert [(v.kind, v.field, v.error) for v in found] == [
        (Kind.INVALID_MAPPING, "job.source.subsets[0].where", True)
    ]
    with pytest.raises(InvalidArgumentError) as raised:
        check_plan(shape_of(spec, shop()))
    assert raised.value.description == found[0].description
    # Rule errors come first; planning is not tried on a job they already refuse.
    spec.mappings[0].columns["phone"].CopyFrom(EMAIL)
    found = validation_report(shape_of(spec, shop()), None)
    assert [v.kind for v in found] == [Kind.UNKNOWN_COLUMN]
    fitting = job(customers={"email": EMAIL})
    fitting.source.subsets.add(table="customers", where="id < 10")
    assert validation_report(shape_of(fitting, shop()), None) == []
