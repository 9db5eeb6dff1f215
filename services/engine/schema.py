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
    sequence: tuple[str, str] | None = None  # (schema, name) of the sequence a default draws
    # data_type with every non-built-in type name schema-qualified, where that differs
    # (PostgreSQL): what init_schema writes, whatever the destination's search_path.
    qualified_type: str = ""


@dataclass(frozen=True)
class Constraint:
    """A check or exclusion constraint, or a domain's check, in the source's own SQL."""

    name: str
    definition: str  # e.g. "CHECK ((amount >= 0))", as the source prints it


@dataclass(frozen=True)
class Index:
    """An index that backs no key or constraint."""

    name: str
    definition: str  # what follows the table's name, e.g. "USING gist (fulltext)"
    unique: bool = False


@dataclass(frozen=True)
class Partition:
    """One partition of a partitioned table, at any depth."""

    schema: str
    name: str
    parent: tuple[str, str]  # (schema, name) of the table it is a partition of
    bound: str  # "FOR VALUES FROM (...) TO (...)", "DEFAULT", ...
    partition_by: str = ""  # set when the partition is partitioned in turn


@dataclass(frozen=True)
class UserType:
    """A type the source defines itself (PostgreSQL: enum, domain, composite), for
    init_schema to recreate before the tables using it."""

    schema: str
    name: str
    kind: str  # "enum", "domain", "composite", or "other" (a type init_schema cannot create)
    labels: tuple[str, ...] = ()  # an enum's labels, in order
    base: str = ""  # a domain's base type, as the source spells it
    not_null: bool = False  # a domain's NOT NULL
    default: str | None = None  # a domain's default expression
    checks: tuple[Constraint, ...] = ()  # a domain's CHECK constraints
    attributes: tuple[tuple[str, str], ...] = ()  # a composite type's (name, type) pairs
    extension: str = ""  # kind "other": the extension defining it, if one does


@dataclass(frozen=True)
class View:
    """A view, created by init_schema only when asked (init_schema_views)."""

    schema: str
    name: str
    definition: str  # its SELECT, as the source prints it
    depends_on: tuple[tuple[str, str], ...] = ()  # (schema, name) of relations it reads


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    # Its check may wait until the transaction commits (PostgreSQL's DEFERRABLE), so a load
    # can write a cycle's rows before the rows they reference.
    deferrable: bool = False

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
    # What init_schema recreates beyond columns and keys (PostgreSQL to PostgreSQL):
    checks: tuple[Constraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    partition_by: str = ""  # "RANGE (at)" for a declaratively partitioned table
    partitions: tuple[Partition, ...] = ()  # every level, each after its parent
    inherits: tuple[tuple[str, str], ...] = ()  # (schema, name) of inheritance parents
    user_types: tuple[UserType, ...] = ()  # types its columns use, each after its own

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
    views: tuple[View, ...] = ()

    def resolve(self, name: str) -> Table | None:
        """The table a user-written name means: "schema.table", or "table" in the default schema."""
        qualified = name if "." in name else f"{self.default_schema}.{name}"
        return self.tables.get(qualified)
