"""PII detection rules and suggestions, on Arrow arrays without a database."""

import pyarrow as pa
import pytest

from services.engine.inspect.pii import PiiKind, detect, luhn_valid, normalize
from services.engine.inspect.pii_suggest import suggest
from services.engine.planning.rules import resolve_mappings
from services.engine.schema import Column, ForeignKey, Schema, Table, TypeFamily
from veilsync.v1 import job_pb2

TEXT, INT = TypeFamily.TEXT, TypeFamily.INTEGER


def test_luhn_is_vectorized_and_exact() -> None:
    values = pa.array(
        ["4111 1111 1111 1111", "4111111111111112", "5500-0000-0000-0004", "0000000000000", "12"]
    )
    assert luhn_valid(values).to_pylist() == [True, False, True, False, False]
    assert luhn_valid(pa.array([], pa.string())).to_pylist() == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [("EmailAddress", "email_address"), ("first-name", "first_name"), ("DOB", "dob")],
)
def test_names_are_normalized(name: str, expected: str) -> None:
    assert normalize(name) == expected


@pytest.mark.parametrize(
    ("column", "family", "values", "kind"),
    [
        ("email", TEXT, ["a@corp.test", "b@corp.test"], PiiKind.EMAIL),
        ("contact", TEXT, ["x@y.org"] * 10, PiiKind.EMAIL),  # values alone
        ("phone_number", TEXT, ["(555) 123-4567", "+15551234567"], PiiKind.PHONE),
        ("mobile", INT, None, PiiKind.PHONE),
        ("ssn", TEXT, ["123-45-6789", "987654321"], PiiKind.SSN),
        ("first_name", TEXT, ["Alice", "Bob", "Carol"], PiiKind.FIRST_NAME),
        ("surname", TEXT, ["Smith", "Johnson"], PiiKind.LAST_NAME),
        ("author", TEXT, ["Alice Smith", "Robert Jones"] * 5, PiiKind.FULL_NAME),
        ("street", TEXT, ["12 Maple Street", "9 Oak Ave"], PiiKind.STREET_ADDRESS),
        ("city", TEXT, ["Springfield"], PiiKind.CITY),
        ("zip", TEXT, ["02139", "94105-1234"], PiiKind.ZIPCODE),
        ("payment", TEXT, ["4111111111111111", "5500000000000004"] * 5, PiiKind.CARD_NUMBER),
        ("last_ip", TypeFamily.OTHER, ["10.0.0.1", "2001:db8::1"], PiiKind.IP_ADDRESS),
        ("date_of_birth", TypeFamily.TEMPORAL, None, PiiKind.BIRTH_DATE),
    ],
)
def test_detects_each_kind(
    column: str, family: TypeFamily, values: list[str] | None, kind: PiiKind
) -> None:
    found = detect(column, family, None if values is None else pa.array(values))
    assert found is not None and found.kind == kind, found
    # Only these are told by their values alone; every other column by its name.
    assert found.name_match == (column not in ("contact", "author", "payment")), found


@pytest.mark.parametrize(
    ("column", "family", "values"),
    [
        ("notes", TEXT, ["hello", "world"]),
        ("sku", TEXT, ["SKU-1", "SKU-2"]),
        ("quantity", INT, ["1", "2"]),
        # The name says phone, a good sample says otherwise.
        ("phone", TEXT, ["call me", "never", "n/a", "maybe", "no", "later"]),
        # Emails in an integer column cannot be: the family rules it out.
        ("email", INT, ["1", "2"]),
    ],
)
def test_leaves_other_columns_alone(column: str, family: TypeFamily, values: list[str]) -> None:
    assert detect(column, family, pa.array(values)) is None


def test_evidence_is_counts_not_values() -> None:
    found = detect("email", TEXT, pa.array(["a@corp.test", "not an email", None, ""]))
    assert found is not None
    assert found.values_sampled == 2
    assert found.value_match_ratio == 0.5
    assert found.name_match


def _shop() -> Schema:
    customers = Table(
        "public",
        "customers",
        (
            Column("email", "text", TEXT, False),
            Column("first_name", "varchar(3)", TEXT, False, max_length=3),
            Column("phone", "text", TEXT, True),
            Column("notes", "text", TEXT, True),
        ),
        primary_key=("email",),
    )
    orders = Table(
        "public",
        "orders",
        (
            Column("id", "integer", INT, False),
            Column("customer_email", "text", TEXT, False),
            Column("ship_city", "text", TEXT, False),
        ),
        primary_key=("id",),
        foreign_keys=(ForeignKey("fk", ("customer_email",), "public", "customers", ("email",)),),
    )
    return Schema(tables={t.qualified: t for t in (customers, orders)})


def test_suggestions_leave_keys_alone_and_pass_validation() -> None:
    schema = _shop()
    samples = {
        "public.customers": pa.table(
            {
                "email": ["a@corp.test", "b@corp.test"],
                "first_name": ["Amy", "Bob"],
                "phone": ["555-123-4567", None],
                "notes": ["x", "y"],
            }
        ),
        "public.orders": pa.table(
            {"customer_email": ["a@corp.test", "b@corp.test"], "ship_city": ["Paris", "Oslo"]}
        ),
    }
    report = suggest(schema, samples)
    found = {(s.table, s.column.name): s for s in report.suggestions}
    assert sorted(report.skipped_key_columns) == [
        "public.customers.email",
        "public.orders.customer_email",
    ]
    assert found["public.customers", "phone"].config.HasField("transform_phone_number")
    assert found["public.orders", "ship_city"].config.HasField("generate_city")
    assert ("public.customers", "notes") not in found
    # A three-character column still gets a name transformer that fits it.
    assert found["public.customers", "first_name"].config.HasField("transform_first_name")
    job = job_pb2.Job()
    for table in ("public.customers", "public.orders"):
        mapping = job.mappings.add(table=table)
        for s in report.suggestions:
            if s.table == table:
                mapping.columns[s.column.name].CopyFrom(s.config)
    resolve_mappings(job, schema)  # raises if any suggestion does not fit
