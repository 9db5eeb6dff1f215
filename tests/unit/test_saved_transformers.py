"""User-defined transformers: the store (CRUD, scoping, delete while used) and the resolution
of `user_defined` mappings to saved configs."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from services.common.contract import DEFAULT_ACCOUNT_ID
from services.common.errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
)
from services.common.secrets import SecretCipher
from services.common.store.store import MetadataStore
from services.engine.planning.saved_transformers import resolve_saved, uses_saved
from veilsync.v1 import job_pb2
from veilsync.v1 import transformer_pb2 as t

ACCOUNT = DEFAULT_ACCOUNT_ID
EMAIL = t.TransformerConfig(transform_email=t.TransformEmail(preserve_domain=True))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetadataStore]:
    store = MetadataStore(f"sqlite:///{tmp_path / 'm.db'}", SecretCipher(Fernet.generate_key()))
    store.migrate()
    yield store
    store.close()


def _job(saved: str) -> job_pb2.Job:
    job = job_pb2.Job(
        name="uses-it",
        source=job_pb2.JobSource(connection="prod"),
        destinations=[job_pb2.JobDestination(connection="qa")],
    )
    mapping = job.mappings.add(table="public.customers")
    mapping.columns["email"].user_defined = saved
    mapping.columns["email"].random = True
    mapping.columns["first_name"].transform_first_name.SetInParent()
    return job


def test_crud_and_scoping(store: MetadataStore) -> None:
    saved = store.user_transformers
    created = saved.create(ACCOUNT, "corp-email", "emails at our domain", EMAIL)
    assert created.id and created.config == EMAIL
    with pytest.raises(AlreadyExistsError):
        saved.create(ACCOUNT, "corp-email", "", EMAIL)
    store.create_account("other")
    with pytest.raises(NotFoundError):
        saved.get("other", "corp-email")
    assert store.saved_transformer("other", "corp-email") is None
    saved.create(ACCOUNT, "a-first", "", EMAIL)
    first = saved.list(ACCOUNT, page_size=1)
    rest = saved.list(ACCOUNT, page_token=first.next_page_token)
    assert [x.name for x in [*first.items, *rest.items]] == ["a-first", "corp-email"]
    masked = t.TransformerConfig(mask=t.Mask(keep_first=1))
    updated = saved.update(ACCOUNT, "corp-email", "masked now", masked)
    assert (updated.description, updated.config) == ("masked now", masked)
    assert store.saved_transformer(ACCOUNT, "corp-email") == masked
    saved.delete(ACCOUNT, "corp-email")
    with pytest.raises(NotFoundError):
        saved.delete(ACCOUNT, "corp-email")


def test_delete_refused_while_a_job_uses_it(store: MetadataStore) -> None:
    store.user_transformers.create(ACCOUNT, "corp-email", "", EMAIL)
    store.create_connection(ACCOUNT, "prod", "postgresql://u:p@h/db")
    store.create_connection(ACCOUNT, "qa", "postgresql://u:p@h/qa")
    store.create_job(ACCOUNT, _job("corp-email"), "k" * 32)
    with pytest.raises(FailedPreconditionError, match="uses-it"):
        store.user_transformers.delete(ACCOUNT, "corp-email")
    store.delete_job(ACCOUNT, name="uses-it")
    store.user_transformers.delete(ACCOUNT, "corp-email")


def test_resolution_replaces_names_and_keeps_random() -> None:
    job = _job("corp-email")
    assert uses_saved(job)
    resolved = resolve_saved(job, {"corp-email": EMAIL}.get)
    email = resolved.mappings[0].columns["email"]
    assert email.transform_email.preserve_domain and email.random
    assert not uses_saved(resolved)
    assert job.mappings[0].columns["email"].user_defined == "corp-email"  # a copy was changed


def test_unknown_name_is_named_in_the_error() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        resolve_saved(_job("missing"), {}.get)
    assert caught.value.field == "job.mappings[0].columns[email].user_defined"
