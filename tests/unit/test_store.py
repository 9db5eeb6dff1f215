"""MetadataStore on a SQLite file: CRUD, scoping, paging, secrets at rest."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from cryptography.fernet import Fernet

from services.common.contract import DEFAULT_ACCOUNT_ID
from services.common.errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
)
from services.common.secrets import SecretCipher
from services.common.store import models
from services.common.store.models import Base
from services.common.store.store import MetadataStore
from services.common.transform_keys import stretched_key
from veilsync.v1 import connection_pb2, job_pb2, transformer_pb2

ACCOUNT = DEFAULT_ACCOUNT_ID
PROD_URL = "postgresql://app:s3cr3t-pw@prod.example:5432/shop"
QA_URL = "postgresql://qa:qa-pw@qa.example/shop"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'metadata.db'}"


@pytest.fixture
def store(db_url: str) -> Iterator[MetadataStore]:
    store = MetadataStore(db_url, SecretCipher(Fernet.generate_key()))
    store.migrate()
    yield store
    store.close()


def shop_job(name: str = "shop-to-qa") -> job_pb2.Job:
    job = job_pb2.Job(
        name=name,
        source=job_pb2.JobSource(connection="prod"),
        destinations=[job_pb2.JobDestination(connection="qa", truncate_before_insert=True)],
        max_parallel_tables=2,
    )
    mapping = job.mappings.add(table="public.customers")
    mapping.columns["email"].CopyFrom(
        transformer_pb2.TransformerConfig(
            transform_email=transformer_pb2.TransformEmail(preserve_domain=True)
        )
    )
    return job


@pytest.fixture
def connections(store: MetadataStore) -> None:
    store.create_connection(ACCOUNT, "prod", PROD_URL)
    store.create_connection(ACCOUNT, "qa", QA_URL)


def test_migrate_is_idempotent(store: MetadataStore) -> None:
    store.migrate()
    assert store.list_connections(ACCOUNT).items == []


def test_connection_round_trip_hides_the_password(store: MetadataStore, db_url: str) -> None:
    created = store.create_connection(ACCOUNT, "prod", PROD_URL)
    assert created.engine == connection_pb2.ENGINE_POSTGRES
    assert created.redacted_url == "postgresql://app:***@prod.example:5432/shop"
    assert store.get_connection(ACCOUNT, name="prod") == created
    assert store.get_connection(ACCOUNT, connection_id=created.id) == created
    assert store.connection_id_by_name(ACCOUNT, "prod") == created.id
    assert store.connection_url(ACCOUNT, created.id) == PROD_URL
    raw = sa.create_engine(db_url)
    with raw.connect() as conn:
        ciphertext = conn.execute(sa.text("SELECT url_ciphertext FROM connections")).scalar_one()
    raw.dispose()
    assert b"s3cr3t-pw" not in ciphertext


def test_connection_errors(store: MetadataStore) -> None:
    store.create_connection(ACCOUNT, "prod", PROD_URL)
    with pytest.raises(AlreadyExistsError, match="prod"):
        store.create_connection(ACCOUNT, "prod", QA_URL)
    with pytest.raises(InvalidArgumentError, match="name"):
        store.create_connection(ACCOUNT, "Bad Name", QA_URL)
    with pytest.raises(InvalidArgumentError, match="url"):
        store.create_connection(ACCOUNT, "ftp", "ftp://host/x")
    with pytest.raises(NotFoundError, match="nope"):
        store.connection_id_by_name(ACCOUNT, "nope")
    with pytest.raises(NotFoundError):
        store.get_connection(ACCOUNT, connection_id="00000000-0000-0000-0000-000000000000")


def test_objects_are_scoped_to_their_account(store: MetadataStore) -> None:
    created = store.create_connection(ACCOUNT, "prod", PROD_URL)
    with pytest.raises(NotFoundError):
        store.connection_url("other", created.id)
    with pytest.raises(NotFoundError):
        store.get_connection("other", name="prod")
    assert store.list_connections("other").items == []


def test_listing_pages_through_names_in_order(store: MetadataStore) -> None:
    names = [f"db-{i:02d}" for i in range(7)]
    for name in reversed(names):
        store.create_connection(ACCOUNT, name, f"sqlite:///tmp/{name}.db")
    seen: list[str] = []
    token = ""
    while True:
        page = store.list_connections(ACCOUNT, 3, token)
        assert len(page.items) <= 3
        seen += [record.name for record in page.items]
        token = page.next_page_token
        if not token:
            break
    assert seen == names
    with pytest.raises(InvalidArgumentError, match="page_token"):
        store.list_connections(ACCOUNT, 3, "garbage!")
    with pytest.raises(InvalidArgumentError, match="page_size"):
        store.list_connections(ACCOUNT, 1001)


@pytest.mark.usefixtures("connections")
def test_job_round_trip(store: MetadataStore) -> None:
    job = shop_job()
    job.id = "ignored"
    created = store.create_job(ACCOUNT, job, "a-secret-key-0123456789")
    assert created.id != "ignored"
    assert created.create_time.seconds > 0
    assert created.update_time == created.create_time
    assert store.get_job(ACCOUNT, job_id=created.id) == created
    assert store.get_job(ACCOUNT, name="shop-to-qa") == created
    expected = shop_job()
    expected.id = created.id
    expected.create_time.CopyFrom(created.create_time)
    expected.update_time.CopyFrom(created.update_time)
    assert created == expected
    assert store.transform_key(ACCOUNT, created.id) == b"a-secret-key-0123456789"
    assert [j.name for j in store.list_jobs(ACCOUNT).items] == ["shop-to-qa"]


@pytest.mark.usefixtures("connections")
def test_a_stretched_key_is_stored_with_its_salt_and_parameters(
    store: MetadataStore, db_url: str
) -> None:
    key = stretched_key("correct horse battery staple", b"s" * 16)
    job = store.create_job(ACCOUNT, shop_job(), key.material, key_salt=key.salt, key_kdf=key.kdf)
    assert store.transform_key(ACCOUNT, job.id) == key.material.encode()
    engine = sa.create_engine(db_url)
    with engine.connect() as connection:
        row = connection.execute(
            sa.text("SELECT transform_key_salt, transform_key_kdf FROM jobs")
        ).one()
    engine.dispose()
    assert tuple(row) == (b"s" * 16, "scrypt:n=131072,r=8,p=1")


@pytest.mark.usefixtures("connections")
def test_a_key_stored_before_stretching_stays_as_stored(store: MetadataStore, db_url: str) -> None:
    job = store.create_job(ACCOUNT, shop_job(), "an-old-key-0123456789")
    # Back to the schema before key stretching, and upgraded as a deployment is.
    config = Config()
    config.set_main_option("script_location", str(Path(models.__file__).with_name("migrations")))
    engine = sa.create_engine(db_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    engine.dispose()
    store.migrate()
    assert store.transform_key(ACCOUNT, job.id) == b"an-old-key-0123456789"


@pytest.mark.usefixtures("connections")
def test_job_errors(store: MetadataStore) -> None:
    store.create_job(ACCOUNT, shop_job(), "k" * 20)
    with pytest.raises(AlreadyExistsError, match="shop-to-qa"):
        store.create_job(ACCOUNT, shop_job(), "k" * 20)
    unknown = shop_job("other")
    unknown.destinations[0].connection = "staging"
    with pytest.raises(NotFoundError, match="staging"):
        store.create_job(ACCOUNT, unknown, "k" * 20)
    with pytest.raises(NotFoundError):
        store.get_job(ACCOUNT, name="missing")


@pytest.mark.usefixtures("connections")
def test_a_connection_in_use_cannot_be_deleted(store: MetadataStore) -> None:
    job = store.create_job(ACCOUNT, shop_job(), "k" * 20)
    with pytest.raises(FailedPreconditionError, match="shop-to-qa"):
        store.delete_connection(ACCOUNT, name="qa")
    store.delete_job(ACCOUNT, job_id=job.id)
    store.delete_connection(ACCOUNT, name="qa")
    with pytest.raises(NotFoundError):
        store.get_connection(ACCOUNT, name="qa")


def test_the_store_runs_on_postgresql(pg_database: Callable[[str], str]) -> None:
    store = MetadataStore(pg_database("meta"), SecretCipher(Fernet.generate_key()))
    try:
        store.migrate()
        store.migrate()
        created = store.create_connection(ACCOUNT, "prod", PROD_URL)
        store.create_connection(ACCOUNT, "qa", QA_URL)
        job = store.create_job(ACCOUNT, shop_job(), "k" * 20)
        assert store.get_job(ACCOUNT, name=job.name) == job
        assert store.connection_url(ACCOUNT, created.id) == PROD_URL
        with pytest.raises(FailedPreconditionError):
            store.delete_connection(ACCOUNT, connection_id=created.id)
    finally:
        store.close()


def test_a_wrong_secret_key_is_a_failed_precondition(db_url: str) -> None:
    first = MetadataStore(db_url, SecretCipher(Fernet.generate_key()))
    first.migrate()
    created = first.create_connection(ACCOUNT, "prod", PROD_URL)
    first.close()
    second = MetadataStore(db_url, SecretCipher(Fernet.generate_key()))
    try:
        with pytest.raises(FailedPreconditionError, match="secret key"):
            second.connection_url(ACCOUNT, created.id)
    finally:
        second.close()


def test_the_migrations_build_exactly_the_models(db_url: str) -> None:
    store = MetadataStore(db_url, SecretCipher(Fernet.generate_key()))
    try:
        store.migrate()
        engine = sa.create_engine(db_url)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        engine.dispose()
    finally:
        store.close()
    assert differences == []
