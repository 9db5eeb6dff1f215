"""A transformer mapped on a key column applies to every column that references it: through
declared and virtual foreign keys, column by column for composite keys, across schemas, and on
through a referencing column that is itself referenced. Keyed transformers are deterministic,
so a key and its references given one config stay joinable; a key referenced by 30 tables is
then mapped once, as Greenmask's `apply_for_references` and Neosync do.

The one place planning (rules.resolve_mappings) and validation (rules.mapping_violations) learn
which transformer each column gets. Pure code."""

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from google.protobuf import text_format

from services.engine.schema import Schema
from veilsync.v1 import transformer_pb2

Config = transformer_pb2.TransformerConfig
ColumnRef = tuple[str, str]  # qualified table, column


@dataclass(frozen=True)
class Reference:
    """One column of a foreign key: `column` holds values of `key`."""

    column: ColumnRef
    key: ColumnRef


@dataclass(frozen=True)
class Propagation:
    explicit: Mapping[ColumnRef, Config]  # as the job maps them
    effective: Mapping[ColumnRef, Config]  # explicit, plus what references inherit
    inherited_from: Mapping[ColumnRef, ColumnRef]  # an inheriting column -> the key it follows
    references: tuple[Reference, ...]  # in the schema's table and foreign-key order

    def by_table(self) -> dict[str, dict[str, Config]]:
        found: dict[str, dict[str, Config]] = {}
        for (table, column), config in self.effective.items():
            found.setdefault(table, {})[column] = config
        return found

    def origin(self, column: ColumnRef) -> ColumnRef:
        """The explicitly mapped column whose transformer `column` carries."""
        while column in self.inherited_from:
            column = self.inherited_from[column]
        return column

    def conflicts(self) -> Iterator[tuple[Reference, str]]:
        """Each reference whose two ends would be transformed differently, with why."""
        for ref in self.references:
            if _applied(self.effective.get(ref.column)) == _applied(self.effective.get(ref.key)):
                continue
            if ref.column in self.explicit:
                yield ref, self._explicit_conflict(ref)
            else:
                yield ref, self._keys_conflict(ref)

    def _explicit_conflict(self, ref: Reference) -> str:
        mapped = f"{_name(ref.column)} maps {describe(self.explicit[ref.column])}"
        if ref.key not in self.effective:
            return (
                f"{mapped} but it references {_name(ref.key)}, which is copied unchanged: map "
                f"the transformer on {_name(ref.key)} instead, and its references inherit it"
            )
        return (
            f"{mapped} but it references {_name(ref.key)}, which {self._holds(ref.key)}: a "
            f"reference must carry its key's transformer; drop the mapping on "
            f"{_name(ref.column)} to inherit it"
        )

    def _keys_conflict(self, ref: Reference) -> str:
        # The column inherited from another key it references: the two keys disagree.
        other = self.inherited_from[ref.column]
        return (
            f"{_name(ref.column)} references {_name(ref.key)}, which {self._holds(ref.key)}, "
            f"and {_name(other)}, which {self._holds(other)}: keys one column references must "
            "carry one transformer"
        )

    def _holds(self, column: ColumnRef) -> str:
        config = self.effective.get(column)
        if config is None:
            return "is copied unchanged"
        if column in self.explicit:
            return f"maps {describe(config)}"
        return f"inherits {describe(config)} from {_name(self.origin(column))}"


def propagate(schema: Schema, explicit: Mapping[ColumnRef, Config]) -> Propagation:
    """Breadth first from the mapped columns down their references. An explicit mapping is
    never replaced; where two keys would hand one column different transformers the first
    reached wins here and conflicts() reports the reference to the other."""
    # Unique: a virtual foreign key may restate a declared one.
    references = tuple(
        dict.fromkeys(
            Reference((table.qualified, column), (fk.ref_qualified, key))
            for table in schema.tables.values()
            for fk in table.foreign_keys
            for column, key in zip(fk.columns, fk.ref_columns, strict=True)
        )
    )
    referencing: dict[ColumnRef, list[ColumnRef]] = {}
    for ref in references:
        referencing.setdefault(ref.key, []).append(ref.column)
    effective = dict(explicit)
    inherited_from: dict[ColumnRef, ColumnRef] = {}
    queue = deque(explicit)
    while queue:
        key = queue.popleft()
        for column in referencing.get(key, ()):
            if column not in effective:
                effective[column] = effective[key]
                inherited_from[column] = key
                queue.append(column)
    return Propagation(dict(explicit), effective, inherited_from, references)


def describe(config: Config) -> str:
    """A transformer as messages name it: `transform_hash {length: 8} (random)`."""
    kind = config.WhichOneof("config")
    if kind is None:
        return "no transformer"
    value = getattr(config, kind)
    if isinstance(value, str):  # user_defined: the saved transformer's name
        text = f'{kind} "{value}"'
    else:
        options = text_format.MessageToString(value, as_one_line=True)
        text = f"{kind} {{{options}}}" if options else kind
    return f"{text} (random)" if config.random else text


def _applied(config: Config | None) -> Config | None:
    """None when the value is copied unchanged, mapped or not."""
    if config is None or (config.WhichOneof("config") == "passthrough" and not config.random):
        return None
    return config


def _name(column: ColumnRef) -> str:
    return f"{column[0]}.{column[1]}"
