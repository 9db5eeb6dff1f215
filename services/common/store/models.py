"""Tables of the metadata store. Migrations in migrations/versions must match these."""

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Explicit constraint names keep migrations portable: SQLite cannot alter an unnamed one.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s_%(column_1_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp read back aware in UTC on every engine: SQLite keeps no time zone, and every
    time Veilsync stores is UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime())


class Connection(Base):
    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    engine: Mapped[int] = mapped_column(Integer)
    url_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime())


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    # The Job message's proto3 JSON without id, name and times, which live in columns.
    spec_json: Mapped[str] = mapped_column(Text)
    # The key the transformers derive from: generated, or stretched from the user's passphrase
    # (which is not kept) with scrypt under transform_key_salt as transform_key_kdf says. Both
    # NULL for a generated key and for keys stored before stretching, used as they are.
    transform_key_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    transform_key_salt: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    transform_key_kdf: Mapped[str | None] = mapped_column(String(64), nullable=True)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime())
    update_time: Mapped[datetime] = mapped_column(UtcDateTime())
    # Whether the job's schedule is paused; the Temporal Schedule follows this column.
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The source's columns and types when the job was last saved (JSON), to report drift.
    schema_snapshot: Mapped[str | None] = mapped_column(Text, nullable=True)
    hook_secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class JobConnection(Base):
    """Which connections a job uses, so that a used connection cannot be deleted."""

    __tablename__ = "job_connections"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    connection_id: Mapped[str] = mapped_column(
        ForeignKey("connections.id", ondelete="RESTRICT"), primary_key=True, index=True
    )


class ApiKey(Base):
    """An API key, kept as the SHA-256 of its secret: a stolen table opens nothing."""

    __tablename__ = "api_keys"
    __table_args__ = (
        UniqueConstraint("account_id", "name"),
        UniqueConstraint("secret_sha256", name="uq_api_keys_secret_sha256"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    prefix: Mapped[str] = mapped_column(String(16))
    secret_sha256: Mapped[bytes] = mapped_column(LargeBinary(32))
    create_time: Mapped[datetime] = mapped_column(UtcDateTime())
    revoke_time: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class Model(Base):
    """A synthetic-data model; the artifact lives in the model store, keyed by id."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    status: Mapped[int] = mapped_column(Integer)
    # The Model message's proto3 JSON without id, name, status and times.
    spec_json: Mapped[str] = mapped_column(Text)
    # The ModelQuality message's proto3 JSON, once measured.
    quality_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime())
    update_time: Mapped[datetime] = mapped_column(UtcDateTime())


class UserTransformer(Base):
    """A transformer config saved under a name, for job mappings to use by that name."""

    __tablename__ = "user_transformers"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    description: Mapped[str] = mapped_column(Text)
    # The TransformerConfig message's proto3 JSON.
    config_json: Mapped[str] = mapped_column(Text)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime())
    update_time: Mapped[datetime] = mapped_column(UtcDateTime())
