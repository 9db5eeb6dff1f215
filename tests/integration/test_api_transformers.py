"""TransformerService over a real gRPC channel: PII suggestions on the shop schema in
PostgreSQL, and user-defined transformers from creation to use in a job."""

from collections.abc import Callable
from pathlib import Path

import grpc
import psycopg
import pytest

from services.cli.suggest import job_from_suggestions
from tests.integration.conftest import Api
from tests.integration.test_api import (
    PASSWORD,
    SOURCE_SQL,
    add_connections,
    expect_error,
    job_message,
)
from veilsync.v1 import connection_pb2 as c
from veilsync.v1 import job_pb2 as j
from veilsync.v1 import transformer_pb2 as t

SHOP_SQL = (Path(__file__).parent / "shop_schema.sql").read_text()
EXTRA_SQL = """
ALTER TABLE customers ADD COLUMN phone text, ADD COLUMN city text, ADD COLUMN card text;
UPDATE customers SET phone = '(555) 123-' || lpad(id::text, 4, '0'), city = 'Springfield',
    card = '4111 1111 1111 1111';
"""


@pytest.fixture
def source_url(pg_database: Callable[[str], str]) -> str:
    """test_api's small source (its own fixture is local to that module)."""
    url = pg_database("udtsrc")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SOURCE_SQL)
    return url.replace("postgres@", f"postgres:{PASSWORD}@", 1)


@pytest.fixture
def shop_url(pg_database: Callable[[str], str]) -> str:
    url = pg_database("piishop")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SHOP_SQL)
        conn.execute(EXTRA_SQL)
    return url


async def test_suggest_on_the_shop(api: Api, shop_url: str) -> None:
    await api.connections.CreateConnection(c.CreateConnectionRequest(name="shop", url=shop_url))
    response = await api.transformers.SuggestTransformers(
        t.SuggestTransformersRequest(connection=c.ConnectionRef(name="shop"), sample_rows=50)
    )
    found = {(s.table, s.column): s for s in response.suggestions}
    kinds = {key: s.kind for key, s in found.items()}
    assert kinds[("public.customers", "email")] == t.PII_KIND_EMAIL
    assert kinds[("public.customers", "first_name")] == t.PII_KIND_FIRST_NAME
    assert kinds[("public.customers", "last_name")] == t.PII_KIND_LAST_NAME
    assert kinds[("public.customers", "ssn")] == t.PII_KIND_SSN
    assert kinds[("public.customers", "phone")] == t.PII_KIND_PHONE
    assert kinds[("public.customers", "city")] == t.PII_KIND_CITY
    assert kinds[("public.customers", "card")] == t.PII_KIND_CARD_NUMBER
    assert ("public.order_items", "sku") not in found
    email = found[("public.customers", "email")]
    assert email.name_match and email.value_match_ratio == 1 and email.values_sampled == 50
    # Evidence only: no sampled value travels back.
    text = str(response)
    assert "corp.test" not in text and "Alice" not in text and "Smith1" not in text
    # The suggestions make a job the API accepts.
    await api.connections.CreateConnection(
        c.CreateConnectionRequest(name="qa", url=f"postgresql://qa:{PASSWORD}@qa.invalid/shop")
    )
    job = job_from_suggestions("suggested", "shop", ["qa"], response)
    created = (await api.jobs.CreateJob(j.CreateJobRequest(job=job))).job
    assert len(created.mappings) == 1 and len(created.mappings[0].columns) == 7


async def test_suggest_errors(api: Api) -> None:
    await expect_error(
        api.transformers.SuggestTransformers(
            t.SuggestTransformersRequest(connection=c.ConnectionRef(name="nope"))
        ),
        grpc.StatusCode.NOT_FOUND,
        "nope",
    )
    await expect_error(
        api.transformers.SuggestTransformers(
            t.SuggestTransformersRequest(connection=c.ConnectionRef(name="x"), sample_rows=5000)
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "sample_rows",
    )


async def test_user_defined_transformers(api: Api, source_url: str) -> None:
    config = t.TransformerConfig(transform_email=t.TransformEmail(preserve_domain=True))
    created = (
        await api.transformers.CreateUserDefinedTransformer(
            t.CreateUserDefinedTransformerRequest(name="corp-email", description="d", config=config)
        )
    ).transformer
    assert created.name == "corp-email" and created.config == config
    got = await api.transformers.GetUserDefinedTransformer(
        t.GetUserDefinedTransformerRequest(name="corp-email")
    )
    assert got.transformer == created
    listed = await api.transformers.ListUserDefinedTransformers(
        t.ListUserDefinedTransformersRequest()
    )
    assert [x.name for x in listed.transformers] == ["corp-email"]
    preview = await api.transformers.PreviewTransform(
        t.PreviewTransformRequest(
            config=t.TransformerConfig(user_defined="corp-email"), values=["a@corp.test"]
        )
    )
    assert preview.outputs[0].value.endswith("@corp.test")

    # Used by name in a job, validated against the column like any transformer.
    await add_connections(api, source_url)
    job = job_message()
    job.mappings[0].columns["email"].Clear()
    job.mappings[0].columns["email"].user_defined = "corp-email"
    stored = (await api.jobs.CreateJob(j.CreateJobRequest(job=job))).job
    assert stored.mappings[0].columns["email"].user_defined == "corp-email"
    await expect_error(
        api.transformers.DeleteUserDefinedTransformer(
            t.DeleteUserDefinedTransformerRequest(name="corp-email")
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "shop-to-qa",
    )
    updated = await api.transformers.UpdateUserDefinedTransformer(
        t.UpdateUserDefinedTransformerRequest(
            name="corp-email", description="masked", config=t.TransformerConfig(mask=t.Mask())
        )
    )
    assert updated.transformer.config.HasField("mask")
    await api.jobs.DeleteJob(j.DeleteJobRequest(job=j.JobRef(name="shop-to-qa")))
    await api.transformers.DeleteUserDefinedTransformer(
        t.DeleteUserDefinedTransformerRequest(name="corp-email")
    )
    await expect_error(
        api.transformers.GetUserDefinedTransformer(
            t.GetUserDefinedTransformerRequest(name="corp-email")
        ),
        grpc.StatusCode.NOT_FOUND,
        "corp-email",
    )


async def test_bad_saved_transformers_and_references(api: Api, source_url: str) -> None:
    await expect_error(
        api.transformers.CreateUserDefinedTransformer(
            t.CreateUserDefinedTransformerRequest(
                name="bad",
                config=t.TransformerConfig(
                    transform_expression=t.TransformExpression(code="__import__('os')")
                ),
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "config.transform_expression.code",
    )
    await expect_error(
        api.transformers.CreateUserDefinedTransformer(
            t.CreateUserDefinedTransformerRequest(
                name="loop", config=t.TransformerConfig(user_defined="x")
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "config.user_defined",
    )
    await add_connections(api, source_url)
    job = job_message()
    job.mappings[0].columns["email"].Clear()
    job.mappings[0].columns["email"].user_defined = "missing"
    await expect_error(
        api.jobs.CreateJob(j.CreateJobRequest(job=job)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "job.mappings[0].columns[email].user_defined",
    )
    # A saved config that does not fit the column is refused for that column.
    await api.transformers.CreateUserDefinedTransformer(
        t.CreateUserDefinedTransformerRequest(
            name="ints", config=t.TransformerConfig(transform_int64=t.TransformInt64())
        )
    )
    job.mappings[0].columns["email"].user_defined = "ints"
    await expect_error(
        api.jobs.CreateJob(j.CreateJobRequest(job=job)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "job.mappings[0].columns[email]",
    )
    # The code transformer refused at job creation, naming column and option.
    job.mappings[0].columns["email"].transform_expression.code = "open('/etc/passwd')"
    await expect_error(
        api.jobs.CreateJob(j.CreateJobRequest(job=job)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "job.mappings[0].columns[email].transform_expression.code",
    )
