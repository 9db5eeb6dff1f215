"""Generators chosen by what a column's name says it holds, dates kept in order within a row,
and what does not fit a column left to the type's default; without a database."""

from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from services.engine.generate.dates import DAY, YEAR
from services.engine.generate.fill import generated_batches
from services.engine.generate.meanings import generator_for, meaning
from services.engine.planning.generate_plan import build_generate_plan
from services.engine.schema import Column, Constraint, Schema, Table, UserType
from services.engine.schema import TypeFamily as F
from services.engine.transformers import dictionaries
from tests.believable import EMAIL, HEX, failures
from veilsync.temporal.v1 import generate_pb2
from veilsync.v1 import job_pb2

NOW = int(datetime(2025, 6, 15, 12, tzinfo=UTC).timestamp())
TODAY = date(2025, 6, 15)


def text(name: str, length: int | None = None, nullable: bool = True) -> Column:
    spelled = f"character varying({length})" if length else "text"
    return Column(name, spelled, F.TEXT, nullable, max_length=length)


def typed(name: str, data_type: str, family: F) -> Column:
    return Column(name, data_type, family, False)


PEOPLE = Table(
    "public",
    "people",
    (
        typed("id", "integer", F.INTEGER),
        text("first_name", 40, False),
        text("last_name"),
        text("email", 80, False),
        text("phone", 20),
        text("country", 60),
        text("city"),
        text("postal_code", 10),
        text("address"),
        typed("birth_date", "date", F.TEMPORAL),
        typed("hire_date", "date", F.TEMPORAL),
        typed("created_at", "timestamp with time zone", F.TEMPORAL),
        typed("updated_at", "timestamp with time zone", F.TEMPORAL),
        typed("starts_at", "timestamp without time zone", F.TEMPORAL),
        typed("ends_at", "timestamp without time zone", F.TEMPORAL),
        typed("salary", "numeric(8,2)", F.NUMERIC),
    ),
    primary_key=("id",),
    unique=(("email",),),
)


def plan_of(*tables: Table, rows: int = 100) -> generate_pb2.GeneratePlan:
    job = job_pb2.Job(generate=job_pb2.GenerateSpec(default_rows=rows))
    return build_generate_plan(job, Schema({t.qualified: t for t in tables}), "s", [], NOW)


def generated(plan: generate_pb2.TableGeneration) -> pa.Table:
    names = [c.name for c in plan.columns]
    return pa.Table.from_batches(list(generated_batches(plan, names, b"k" * 16)))


def test_every_column_of_a_people_table_passes_its_format_check() -> None:
    plan = plan_of(PEOPLE, rows=20_000)
    chosen = {c.name: c.WhichOneof("values") for c in plan.tables[0].columns}
    assert chosen["email"] == "ordinal_email"  # unique: the ordinal keeps it distinct
    assert chosen["hire_date"] == chosen["updated_at"] == chosen["ends_at"] == "following"
    rows = generated(plan.tables[0]).to_pylist()
    assert len(rows) == 20_000
    assert failures(rows, TODAY) == {}
    assert len({r["email"] for r in rows}) == 20_000
    assert all(r["starts_at"][:19] < r["ends_at"][:19] for r in rows)
    # Nothing is a hex digest or a random string any more.
    for name in ("first_name", "city", "postal_code", "phone", "address"):
        assert not any(HEX.match(r[name]) for r in rows), name


def test_dates_stay_in_order_at_the_edges_of_their_ranges() -> None:
    """A birth on the last allowed day still leaves 18 years for the hire before today."""
    rows = generated(plan_of(PEOPLE, rows=50_000).tables[0]).to_pylist()
    births = sorted(r["birth_date"] for r in rows)
    assert births[-1][:10] <= f"{TODAY.year - 18}-06-15"
    assert births[0][:10] >= f"{TODAY.year - 91}-06-15"
    assert all(r["birth_date"] < r["hire_date"] <= "2025-06-15" for r in rows)


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        (text("country", 2), "generate_country"),
        (text("country_code", 10), "generate_country"),
        (text("country"), "generate_country"),
        (text("postal_code", 4), None),  # a cut ZIP code is no ZIP code: the default stays
        (text("phone", 9), None),
        (text("mobile", 10), "generate_string_phone_number"),
        (typed("phone", "bigint", F.INTEGER), "generate_int64_phone_number"),
        (typed("phone", "integer", F.INTEGER), None),  # ten digits do not fit
        (text("email", 10), None),
        (text("gender", 1), "generate_gender"),
        (typed("age", "smallint", F.INTEGER), "generate_int64"),
        (typed("amount", "double precision", F.NUMERIC), "generate_float64"),
        (typed("price", "numeric(2,2)", F.NUMERIC), None),
        (text("notes"), None),
    ],
)
def test_a_generator_is_chosen_only_where_it_fits_the_column(
    column: Column, expected: str | None
) -> None:
    kind = meaning(column)
    config = generator_for(kind, column) if kind is not None else None
    assert (config.WhichOneof("config") if config is not None else None) == expected


def test_short_columns_get_values_that_fit_whole() -> None:
    table = Table(
        "public",
        "short",
        (
            text("country", 12),
            text("iso_country", 2),
            text("email", 18),
            text("gender", 6),
            typed("price", "numeric(4,2)", F.NUMERIC),
            typed("total", "double precision", F.NUMERIC),
        ),
        unique=(("email",),),
    )
    values = generated(plan_of(table, rows=5000).tables[0])
    countries = pc.is_in(values.column("country"), dictionaries.countries())
    assert pc.all(countries).as_py()
    assert pc.max(pc.utf8_length(values.column("country"))).as_py() <= 12
    assert pc.all(pc.is_in(values.column("iso_country"), dictionaries.country_codes())).as_py()
    emails = values.column("email").to_pylist()
    assert len(set(emails)) == 5000 and all(EMAIL.match(e) and len(e) <= 18 for e in emails)
    assert set(values.column("gender").to_pylist()) <= {"f", "m", "n", "u"}
    prices = [float(p) for p in values.column("price").to_pylist()]
    assert min(prices) >= 1 and max(prices) <= 99
    assert all(len(t.split(".")[1]) <= 2 for t in values.column("total").to_pylist())


def test_what_the_job_or_the_schema_decides_stays_decided() -> None:
    """A configured generator, an enum's labels and a key's ordinals win over the name."""
    table = Table(
        "public",
        "t",
        (
            typed("id", "integer", F.INTEGER),
            Column("gender", "sex", F.TEXT, False, enum_labels=("F", "M")),
            text("city", 30),
            typed("birth_date", "date", F.TEMPORAL),
            typed("hire_date", "date", F.TEMPORAL),
        ),
        primary_key=("id",),
    )
    job = job_pb2.Job(generate=job_pb2.GenerateSpec(default_rows=10))
    job.generate.tables.add(table="t").columns["city"].generate_string.SetInParent()
    job.generate.tables[0].columns["birth_date"].generate_utctimestamp.SetInParent()
    plan = build_generate_plan(job, Schema({table.qualified: table}), "s", [], NOW)
    columns = {c.name: c for c in plan.tables[0].columns}
    assert columns["gender"].generator.generate_categorical.categories == ["F", "M"]
    assert columns["city"].generator.HasField("generate_string")
    # The job set the birth date: the hire date no longer follows a date the plan did not pick.
    assert columns["hire_date"].generator.generate_utctimestamp.max == NOW // DAY * DAY - 1
    assert columns["hire_date"].generator.generate_utctimestamp.min < NOW - 29 * YEAR


def test_check_constraints_bound_what_is_generated() -> None:
    """IN lists, bounds (a domain's too) and column orders as PostgreSQL prints them."""
    table = Table(
        "public",
        "orders",
        (
            text("status", 10),
            text("code", 3),
            typed("rating", "smallint", F.INTEGER),
            typed("price", "numeric(6,2)", F.NUMERIC),
            typed("release_year", "public.year", F.INTEGER),
            typed("shipped_on", "date", F.TEMPORAL),
            typed("received_on", "date", F.TEMPORAL),
        ),
        checks=(
            Constraint(
                "status_in",
                "CHECK (((status)::text = ANY ((ARRAY['new'::character varying, "
                "'it''s paid'::character varying, 'much too long'::character varying])"
                "::text[])))",
            ),
            Constraint(
                "code_not_in",
                "CHECK (((code)::text <> ALL ((ARRAY['xyz'::character varying])::text[])))",
            ),
            Constraint("rating_range", "CHECK (((rating >= 1) AND (rating <= 5)))"),
            Constraint("price_positive", "CHECK ((price > (250)::numeric))"),
            Constraint("received_after", "CHECK ((received_on > shipped_on))"),
        ),
        user_types=(
            UserType(
                "public",
                "year",
                "domain",
                base="integer",
                checks=(Constraint("year_check", "CHECK (((VALUE >= 1901) AND (VALUE <= 2155)))"),),
            ),
        ),
    )
    plan = plan_of(table, rows=5000).tables[0]
    columns = {c.name: c for c in plan.columns}
    assert columns["code"].generator.HasField("generate_string")
    assert columns["received_on"].following.min_gap_seconds == DAY
    rows = generated(plan).to_pylist()
    assert {r["status"] for r in rows} == {"new", "it's paid"}  # what fits varchar(10)
    assert {int(r["rating"]) for r in rows} == {1, 2, 3, 4, 5}
    assert all(250 < float(r["price"]) <= 9999.99 for r in rows)
    assert all(1901 <= int(r["release_year"]) <= 2155 for r in rows)
    assert all(r["shipped_on"][:10] < r["received_on"][:10] for r in rows)
