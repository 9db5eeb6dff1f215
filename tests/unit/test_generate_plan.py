"""Generate plans and generated values, without a database."""

import pyarrow.compute as pc
import pytest

from services.common.errors import InvalidArgumentError
from services.engine.generate.fill import generated_batches
from services.engine.planning.generate_plan import build_generate_plan
from services.engine.schema import Column, ForeignKey, Schema, Table
from services.engine.schema import TypeFamily as F
from veilsync.v1 import job_pb2
from veilsync.v1 import transformer_pb2 as t

PARENT = Table(
    "public",
    "parents",
    (
        Column("id", "integer", F.INTEGER, False),
        Column("code", "character varying(3)", F.TEXT, False, max_length=3),
        Column("small", "smallint", F.INTEGER, False),
        Column("price", "numeric(5,2)", F.NUMERIC, True),
        Column("parent_id", "integer", F.INTEGER, True),
    ),
    primary_key=("id",),
    unique=(("code",),),
    foreign_keys=(ForeignKey("self_fk", ("parent_id",), "public", "parents", ("id",)),),
)
CHILD = Table(
    "public",
    "children",
    (
        Column("parent_id", "integer", F.INTEGER, False),
        Column("note", "text", F.TEXT, True),
    ),
    primary_key=("parent_id",),
    foreign_keys=(ForeignKey("child_fk", ("parent_id",), "public", "parents", ("id",)),),
)
SCHEMA = Schema({t.qualified: t for t in (PARENT, CHILD)})


def job(rows: int = 100, **tables: dict[str, object]) -> job_pb2.Job:
    spec = job_pb2.GenerateSpec(default_rows=rows)
    for name, options in tables.items():
        spec.tables.add(table=name, **options)
    return job_pb2.Job(generate=spec)


def test_keys_references_and_defaults_are_planned() -> None:
    plan = build_generate_plan(job(), SCHEMA, "shape", [])
    assert [p.name for p in plan.sync.tables] == ["parents", "children"]
    assert list(plan.sync.tables[0].deferred_columns) == ["parent_id"]
    parents = {c.name: c for c in plan.tables[0].columns}
    assert parents["id"].ordinal and parents["code"].ordinal
    assert parents["small"].generator.generate_int64.max == 32767
    # A price: a plausible amount, inside what numeric(5,2) holds.
    assert parents["price"].generator.generate_float64.max == 200.0
    assert parents["parent_id"].reference.tree
    child = plan.tables[1].columns[0]
    assert child.reference.one_to_one and child.reference.column.ordinal


def test_generated_rows_respect_keys_and_references() -> None:
    plan = build_generate_plan(job(), SCHEMA, "shape", [])
    parents = next(generated_batches(plan.tables[0], ["id", "code", "parent_id"], b"k" * 16))
    assert len(pc.unique(parents.column("code"))) == 100
    links = parents.column("parent_id").to_pylist()
    assert links[0] is None
    assert all(int(p) < i for i, p in enumerate(links, start=1) if p is not None)
    first = next(generated_batches(plan.tables[0], ["small"], b"k" * 16))
    again = next(generated_batches(plan.tables[0], ["small"], b"k" * 16))
    other = next(generated_batches(plan.tables[0], ["small"], b"x" * 16))
    assert first == again and first != other


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        (job(1000), "job.generate", "do not fit 3 characters"),
        (job(children={"rows": 200}), "job.generate", "gets at most 100 rows"),
        (
            job(parents={"columns": {"code": t.TransformerConfig(generate_city=t.GenerateCity())}}),
            "job.generate.tables[0].columns[code]",
            "needs unique values",
        ),
        (
            job(children={"columns": {"parent_id": t.TransformerConfig(null=t.Null())}}),
            "job.generate.tables[0].columns[parent_id]",
            "takes its parent's generated keys",
        ),
        (job(nowhere={}), "job.generate.tables[0].table", "does not exist"),
        (job(parents={"rows": 0}), "job.generate", "gets no rows, and is NOT NULL"),
    ],
)
def test_what_cannot_be_generated_is_refused(spec: job_pb2.Job, field: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError) as error:
        build_generate_plan(spec, SCHEMA, "shape", [])
    assert error.value.field.startswith(field)
    assert message in str(error.value)


def test_a_cycle_no_nullable_column_breaks_cannot_be_generated() -> None:
    """Generated tables are written one by one: a sync loads such a cycle as one group."""
    key = Column("id", "integer", F.INTEGER, False)
    a = Table(
        "public",
        "a",
        (key, Column("b_id", "integer", F.INTEGER, False)),
        ("id",),
        foreign_keys=(ForeignKey("a_b_fk", ("b_id",), "public", "b", ("id",)),),
    )
    b = Table(
        "public",
        "b",
        (key, Column("a_id", "integer", F.INTEGER, False)),
        ("id",),
        foreign_keys=(ForeignKey("b_a_fk", ("a_id",), "public", "a", ("id",)),),
    )
    with pytest.raises(InvalidArgumentError, match="no nullable foreign-key column") as error:
        build_generate_plan(job(), Schema({t.qualified: t for t in (a, b)}), "shape", [])
    assert error.value.field == "job.generate"
