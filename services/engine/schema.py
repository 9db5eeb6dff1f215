"""The engine's model of a database schema, independent of any database driver."""

from dataclasses import dataclass, field
from enum import StrEnum


class TypeFamily(StrEnum):
    """Coarse type families: what transformers accept and how types map across engines."""

    TEXT = "text"
    INTEGER = "integer"
    NUMERIC = "numeric"
    BOOLEAN = "boolean"
    TEMPORAL = "temporal"
    BINARY = "binary"
    JSON = "json"
    UUID = "uuid"
    OTHER = "other"


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str  # the source engine's own spelling, e.g. "character varying(120)"
    family: TypeFamily
    nullable: bool
    default: str | None = None
    max_length: int | None = None
    generated: str | None = None  # the generation expression of a generated column
    identity: str | None = None  # "always" or "by default" for identity columns
    enum_labels: tuple[str, ...] = ()  # labels of a user-defined enum type


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]

    @property
    def ref_qualified(self) -> str:
        return f"{self.ref_schema}.{self.ref_table}"


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    estimated_rows: int = 0

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class Schema:
    tables: dict[str, Table] = field(default_factory=dict)  # by qualified name
    default_schema: str = "public"
    engine: str = "postgres"  # whose SQL dialect predicates on this schema are written in

    def resolve(self, name: str) -> Table | None:
        """The table a user-written name means: "schema.table", or "table" in the default schema."""
        qualified = name if "." in name else f"{self.default_schema}.{name}"
        return self.tables.get(qualified)
