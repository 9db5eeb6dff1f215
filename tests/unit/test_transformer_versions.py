"""Transformer versions: what a job records when saved (every transformer its runs apply) and
the plan step's refusal of versions this code does not implement."""

from collections.abc import Callable
from typing import cast

import pytest

from services.common.errors import FailedPreconditionError
from services.engine.connectors.base import Database
from services.engine.planning.job_plan import (
    JobShape,
    check_plan,
    generate_plan,
    sync_plan,
)
from services.engine.planning.transformer_versions import check_versions
from services.engine.schema import Column, ForeignKey, Schema, Table, TypeFamily
from services.engine.transformers.builtin import CATALOG
from veilsync.v1 import job_pb2

CUSTOMERS = Table(
    "public",
    "customers",
    (
        Column("id", "bigint", TypeFamily.INTEGER, False),
        Column("email", "text", TypeFamily.TEXT, True),
        Column("name", "text", TypeFamily.TEXT, True),
    ),
    primary_key=("id",),
)
ORDERS = Table(
    "public",
    "orders",
    (
        Column("id", "bigint", TypeFamily.INTEGER, False),
        Column("customer_id", "bigint", TypeFamily.INTEGER, False),
    ),
    primary_key=("id",),
    foreign_keys=(ForeignKey("orders_fk", ("customer_id",), "public", "customers", ("id",)),),
)
SCHEMA = Schema({t.qualified: t for t in (CUSTOMERS, ORDERS)})


def shape(job: job_pb2.Job) -> JobShape:
    return JobShape(job, [], "src", cast(Database, None), SCHEMA)


def sync_job(**recorded: int) -> job_pb2.Job:
    job = job_pb2.Job(name="shop", transformer_versions=recorded)
    mapping = job.mappings.add(table="customers")
    mapping.columns["id"].transform_scramble_identity.SetInParent()
    mapping.columns["email"].transform_email.SetInParent()
    return job


def generate_job(**recorded: int) -> job_pb2.Job:
    job = job_pb2.Job(name="fill", transformer_versions=recorded)
    job.generate.default_rows = 10
    job.generate.tables.add(table="customers").columns["email"].generate_email.SetInParent()
    return job


def test_every_transformer_has_a_positive_version() -> None:
    assert all(isinstance(cls.version, int) and cls.version >= 1 for cls in CATALOG.values())


def test_a_job_records_the_transformers_its_runs_apply() -> None:
    # orders.customer_id inherits the key's transformer: recorded as well, once.
    assert check_plan(shape(sync_job())) == {
        "transform_email": CATALOG["transform_email"].version,
        "transform_scramble_identity": CATALOG["transform_scramble_identity"].version,
    }
    generated = check_plan(shape(generate_job()))
    assert generated["generate_email"] == CATALOG["generate_email"].version
    # Columns the job leaves to defaults are generated too, and recorded.
    assert len(generated) > 1


def test_recorded_versions_this_code_implements_plan() -> None:
    current = CATALOG["transform_email"].version
    assert sync_plan(shape(sync_job(transform_email=current))).tables
    check_versions({})  # a job saved before versions were recorded runs as before


Planner = Callable[[JobShape], object]


@pytest.mark.parametrize(("build", "plan"), [(sync_job, sync_plan), (generate_job, generate_plan)])
def test_a_job_pinned_to_another_version_is_refused_naming_it(
    build: Callable[..., job_pb2.Job], plan: Planner
) -> None:
    with pytest.raises(FailedPreconditionError) as caught:
        plan(shape(build(transform_email=99)))
    message = str(caught.value)
    current = CATALOG["transform_email"].version
    assert f"transform_email version 99 (this worker implements {current})" in message
    assert "update_mask: transformer_versions" in message


def test_an_unknown_recorded_transformer_is_refused() -> None:
    with pytest.raises(FailedPreconditionError, match="transform_teleport version 1"):
        check_versions({"transform_teleport": 1})
