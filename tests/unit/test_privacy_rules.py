"""The privacy report's pure parts: thresholds, the policy, quasi-identifier detection, the
unchanged-value counter, and k-anonymity's SQL against a plain-Python reference on SQLite."""

import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.errors import InvalidArgumentError
from services.engine.connectors import open_database
from services.engine.connectors.base import GroupSizes
from services.engine.privacy import findings, policy, quasi_identifiers
from services.engine.privacy.unchanged import UnchangedCounter
from services.engine.schema import Column, Schema, Table, TypeFamily
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2

TEXT, INT, DATE = TypeFamily.TEXT, TypeFamily.INTEGER, TypeFamily.TEMPORAL


def reference_group_sizes(rows: Sequence[tuple[object, ...]]) -> GroupSizes:
    """k-anonymity's counts the obvious way: count each combination of values."""
    sizes = Counter(rows).values()
    return GroupSizes(
        rows=len(rows),
        groups=len(sizes),
        smallest=min(sizes, default=0),
        unique_rows=sum(1 for n in sizes if n == 1),
    )


values = st.one_of(st.none(), st.sampled_from(["10001", "10002", "x"]), st.integers(0, 3))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.tuples(values, values), max_size=40))
def test_group_sizes_in_sql_match_the_reference(
    tmp_path: Path, rows: list[tuple[object, ...]]
) -> None:
    path = tmp_path / "k.db"
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute('CREATE TABLE people ("zip code" TEXT, "age" INTEGER)')
        conn.executemany("INSERT INTO people VALUES (?, ?)", rows)
    database = open_database(f"sqlite:///{path}")
    measured = database.group_sizes(database.default_schema, "people", ["zip code", "age"])
    assert measured == reference_group_sizes(rows)


def test_an_empty_table_has_no_groups(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "e.db") as conn:
        conn.execute("CREATE TABLE people (zip TEXT)")
    database = open_database(f"sqlite:///{tmp_path / 'e.db'}")
    assert database.group_sizes("main", "people", ["zip"]) == GroupSizes(0, 0, 0, 0)


@pytest.mark.parametrize(
    ("distinct", "values", "low"),
    [
        (10, 1000, True),  # the 10-value column
        (4, 60, True),
        (50, 1000, True),  # 5% exactly
        (51, 1000, False),
        (20, 40, True),  # 20 values, each twice on average
        (20, 39, False),
        (60, 60, False),  # unique, however few
        (0, 0, False),
    ],
)
def test_low_cardinality_thresholds(distinct: int, values: int, low: bool) -> None:
    assert findings.low_cardinality(distinct, values) is low


def test_findings_name_the_column_and_keep_to_their_kind() -> None:
    clear = job_pb2.ColumnPrivacy(column="email", pii_kind="email", pii_confidence=0.98)
    assert findings.pii_in_clear("public.c", clear) is not None
    transformed = job_pb2.ColumnPrivacy(
        column="email", transformer="transform_email", unchanged=3, compared=60, values_sampled=60
    )
    assert findings.pii_in_clear("public.c", transformed) is None
    kept = findings.unchanged_values("public.c", transformed, must_change=True)
    assert kept is not None and "wrote 3 of 60 values unchanged (5.00%)" in kept.message
    assert findings.unchanged_values("public.c", transformed, must_change=False) is None
    assert findings.frequency_linkage("public.c", transformed) is None  # no distinct count
    transformed.distinct_values = 4
    linked = findings.frequency_linkage("public.c", transformed)
    assert linked is not None and linked.kind == "frequency_linkage"
    assert "4 distinct values in 60 sampled rows" in linked.message


def test_k_anonymity_is_a_finding_below_min_k_only() -> None:
    measured = job_pb2.KAnonymity(columns=["zip"], k=4, rows=10, unique_rows=0, groups=2)
    assert findings.k_anonymity("public.p", measured, 4) is None
    below = findings.k_anonymity("public.p", measured, 5)
    assert below is not None and "k = 4 over zip (detected by name), below 5" in below.message
    assert findings.k_anonymity("public.p", job_pb2.KAnonymity(columns=["zip"]), 5) is None


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda p: p.fail_on.extend(["k_anonymity", "everything"]), "job.privacy.fail_on[1]"),
        (lambda p: setattr(p, "min_k", -2), "job.privacy.min_k"),
        (
            lambda p: p.quasi_identifiers.add(columns=["zip"]),
            "job.privacy.quasi_identifiers[0].table",
        ),
        (
            lambda p: [p.quasi_identifiers.add(table="t"), p.quasi_identifiers.add(table="t")],
            "job.privacy.quasi_identifiers[1].table",
        ),
        (
            lambda p: p.quasi_identifiers.add(table="t", columns=["zip", "zip"]),
            "job.privacy.quasi_identifiers[0].columns[1]",
        ),
    ],
)
def test_a_policy_that_cannot_work_names_its_field(
    build: Callable[[job_pb2.PrivacyPolicy], object], field: str
) -> None:
    spoiled = job_pb2.PrivacyPolicy()
    build(spoiled)
    with pytest.raises(InvalidArgumentError) as caught:
        policy.check_policy(spoiled)
    assert caught.value.field == field


def test_the_policy_fails_the_run_on_what_it_names() -> None:
    report = job_pb2.PrivacyReport(
        findings=[
            job_pb2.PrivacyFinding(kind="pii_in_clear", message="a"),
            job_pb2.PrivacyFinding(kind="frequency_linkage", message="b"),
            job_pb2.PrivacyFinding(kind="k_anonymity", message="c"),
        ]
    )
    assert policy.apply_policy(report, job_pb2.PrivacyPolicy()) == []
    named = job_pb2.PrivacyPolicy(fail_on=["pii_in_clear"])
    assert policy.apply_policy(report, named) == ["pii_in_clear: a"]
    assert [f.fails_run for f in report.findings] == [True, False, False]
    # A min_k the job sets is a demand of its own.
    assert policy.apply_policy(report, job_pb2.PrivacyPolicy(min_k=3)) == ["k_anonymity: c"]
    assert policy.min_k(job_pb2.PrivacyPolicy()) == policy.DEFAULT_MIN_K


def table(name: str, *columns: tuple[str, TypeFamily]) -> Table:
    """A table keyed on its first column."""
    return Table(
        "public", name, tuple(Column(c, "text", f, True) for c, f in columns), (columns[0][0],)
    )


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (
            table("patients", ("id", INT), ("zip", TEXT), ("birth_date", DATE), ("Gender", TEXT)),
            ["zip", "birth_date", "Gender"],
        ),
        # One quasi-identifier beside personal data: an address book.
        (
            table("address", ("id", INT), ("address", TEXT), ("postal_code", TEXT)),
            ["postal_code"],
        ),
        # A lookup table of cities is about no one.
        (table("city", ("city_id", INT), ("city", TEXT)), []),
        (table("orders", ("id", INT), ("page", TEXT), ("usage", TEXT)), []),
    ],
)
def test_quasi_identifiers_are_detected_by_name(subject: Table, expected: list[str]) -> None:
    assert quasi_identifiers.detected(subject) == expected


def test_declared_quasi_identifiers_win_and_are_checked_against_the_source() -> None:
    patients = table("patients", ("id", INT), ("zip", TEXT), ("gender", TEXT))
    schema = Schema({patients.qualified: patients})
    declared = quasi_identifiers.declared(
        job_pb2.PrivacyPolicy(quasi_identifiers=[job_pb2.QuasiIdentifiers(table="patients")]),
        schema,
    )
    assert quasi_identifiers.of(patients, declared) == ([], True)  # none, as declared
    assert quasi_identifiers.of(patients, {}) == (["zip", "gender"], False)
    wrong = job_pb2.PrivacyPolicy()
    wrong.quasi_identifiers.add(table="patients", columns=["gender", "sex"])
    with pytest.raises(InvalidArgumentError) as caught:
        quasi_identifiers.declared(wrong, schema)
    assert caught.value.field == "job.privacy.quasi_identifiers[0].columns[1]"


def test_unchanged_values_are_counted_as_their_family_without_nulls_and_resume() -> None:
    families = {"n": "integer", "x": "numeric", "b": "boolean", "u": "uuid"}
    resumed = [sync_pb2.ColumnUnchanged(column="n", unchanged=2, compared=5)]
    counter = UnchangedCounter(resumed, families)
    counter.count("n", pa.array([1, 2, None, 4]), pa.array(["1", "3", "9", None]))
    counter.count("s", pa.array(["a", "b"]), pa.array(["a", "B"]))
    # The same values spelled as a source and a transformer spell them.
    counter.count("x", pa.array(["1.50", "2.00"]), pa.array(["1.5", "2.01"]))
    counter.count("b", pa.array(["t", "f", "t"]), pa.array(["true", "true", "false"]))
    counter.count("u", pa.array(["0A-1"]), pa.array(["0a-1"]))
    assert {c.column: (c.unchanged, c.compared) for c in counter.counts()} == {
        "n": (3, 7),  # 1 kept; the NULL on either side not compared
        "s": (1, 2),
        "x": (1, 2),
        "b": (1, 3),
        "u": (1, 1),
    }
