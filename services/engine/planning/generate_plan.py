"""A generate job and the schema of its shape to the plan a generate run follows: the sync's
foreign-key order and deferred columns, and how each column is made from the row ordinals:
the job's generator where it names one, else one chosen by what the column's name says it
holds (meanings.py, dates.py), else a default for its type. Pure code."""

import time
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from services.common.errors import InvalidArgumentError
from services.engine.generate.believable import TableChoices
from services.engine.generate.dates import Follows
from services.engine.generate.defaults import check_generator
from services.engine.generate.meanings import meaning
from services.engine.inspect.pii import PiiKind
from services.engine.planning.load_order import plan_tables
from services.engine.planning.sync_plan import DEFAULT_PARALLEL_TABLES
from services.engine.planning.table_plans import table_plan
from services.engine.planning.virtual_keys import with_virtual_foreign_keys
from services.engine.schema import Column, ForeignKey, Schema, Table, TypeFamily
from services.engine.transformers import ColumnBounds, transformer_class
from services.engine.transformers.email import SHORTEST as SHORTEST_EMAIL
from veilsync.temporal.v1 import generate_pb2, sync_pb2
from veilsync.v1 import job_pb2, transformer_pb2

DEFAULT_ROWS = 1000
SPEC = "job.generate"


@dataclass(frozen=True)
class _TableSpec:
    rows: int
    columns: dict[str, transformer_pb2.TransformerConfig] = dataclass_field(default_factory=dict)
    where: str = SPEC


@dataclass(frozen=True)
class _TableKeys:
    """A table's foreign keys to tables of the schema, and what they make of its keys."""

    references: list[ForeignKey]
    # Columns given unique values of their own, which makes every key they are in unique.
    unique: frozenset[str]
    # Foreign keys (by name) that must pick distinct parents: for a key made only of
    # foreign-key columns, the one inside it whose parent gets the most rows.
    one_to_one: frozenset[str]


def build_generate_plan(
    job: job_pb2.Job,
    schema: Schema,
    shape_connection_id: str,
    destinations: list[sync_pb2.DestinationPlan],
    now: int | None = None,
    learned: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
) -> generate_pb2.GeneratePlan:
    """InvalidArgumentError names the first part of the spec that cannot be generated. Dates
    in the past end before the day of `now` (seconds since 1970; the clock's by default);
    `learned` holds number columns' smallest and largest values in the source, by qualified
    table and column name."""
    schema = with_virtual_foreign_keys(schema, job.source.virtual_foreign_keys)
    specs = _table_specs(job.generate, schema)
    columns = _Columns(schema, specs, int(time.time()) if now is None else now, learned or {})
    plan = generate_pb2.GeneratePlan(
        sync=sync_pb2.SyncPlan(
            source_connection_id=shape_connection_id,
            destinations=destinations,
            max_parallel_tables=job.max_parallel_tables or DEFAULT_PARALLEL_TABLES,
            has_hooks=bool(job.hooks),
        )
    )
    for step in plan_tables(schema.tables.values()):
        table, rows = step.table, specs[step.table.qualified].rows
        if step.load_group:
            # Generated tables are written one by one: a cycle needs a nullable column to
            # hold its references until their rows exist.
            raise InvalidArgumentError(
                SPEC,
                f"{table.qualified} is in a foreign-key cycle (load group {step.load_group}) "
                "with no nullable foreign-key column to break it",
            )
        written = [
            c for c in table.columns if c.generated is None and not columns.omitted(table, c)
        ]
        planned = table_plan(step)
        planned.estimated_rows = rows
        plan.sync.tables.append(planned)
        plan.tables.append(
            generate_pb2.TableGeneration(
                table=table.qualified,
                rows=rows,
                columns=[columns.column(table, c.name) for c in written],
            )
        )
    return plan


def _table_specs(spec: job_pb2.GenerateSpec, schema: Schema) -> dict[str, _TableSpec]:
    default = spec.default_rows or DEFAULT_ROWS
    specs = {name: _TableSpec(default) for name in schema.tables}
    named: set[str] = set()
    for i, wanted in enumerate(spec.tables):
        where = f"{SPEC}.tables[{i}]"
        table = schema.resolve(wanted.table)
        if table is None:
            raise InvalidArgumentError(f"{where}.table", f"table {wanted.table!r} does not exist")
        if table.qualified in named:
            raise InvalidArgumentError(f"{where}.table", f"{table.qualified} is named twice")
        named.add(table.qualified)
        for name in wanted.columns:
            column = table.column(name)
            if column is None:
                raise InvalidArgumentError(
                    f"{where}.columns[{name}]", f"column {name!r} does not exist in {table.name}"
                )
            if column.generated is not None:
                raise InvalidArgumentError(
                    f"{where}.columns[{name}]", "generated columns are computed, not written"
                )
        rows = wanted.rows if wanted.HasField("rows") else default
        specs[table.qualified] = _TableSpec(rows, dict(wanted.columns), where)
    return specs


class _Columns:
    """How each column is made, memoized: a foreign key's values are its parent key's values,
    so a reference is described by the parent's own column, recursively."""

    def __init__(
        self,
        schema: Schema,
        specs: dict[str, _TableSpec],
        now: int,
        learned: Mapping[str, Mapping[str, tuple[float, float]]],
    ) -> None:
        self._schema, self._specs, self._now, self._learned = schema, specs, now, learned
        self._done: dict[tuple[str, str], generate_pb2.GeneratedColumn] = {}
        self._visiting: set[tuple[str, str]] = set()
        self._table_keys: dict[str, _TableKeys] = {}
        self._table_choices: dict[str, TableChoices] = {}

    def omitted(self, table: Table, column: Column) -> bool:
        """A column left to its default (generate_default) is not written at all."""
        config = self._specs[table.qualified].columns.get(column.name)
        return config is not None and transformer_class(config, SPEC).omits_column

    def column(self, table: Table, name: str) -> generate_pb2.GeneratedColumn:
        slot = (table.qualified, name)
        if slot in self._done:
            return self._done[slot]
        if slot in self._visiting:
            raise InvalidArgumentError(
                SPEC, f"{table.qualified}.{name} is a key that references itself through others"
            )
        self._visiting.add(slot)
        made = self._describe(table, name)
        self._visiting.discard(slot)
        self._done[slot] = made
        return made

    def _describe(self, table: Table, name: str) -> generate_pb2.GeneratedColumn:
        column = table.column(name)
        if column is None:
            raise InvalidArgumentError(SPEC, f"column {name!r} does not exist in {table.qualified}")
        spec = self._specs[table.qualified]
        made = generate_pb2.GeneratedColumn(
            name=name, data_type=column.data_type, max_length=column.max_length or 0
        )
        field = f"{spec.where}.columns[{name}]"
        keys = self._keys(table)
        fk = next((f for f in keys.references if name in f.columns), None)
        config = spec.columns.get(name)
        if fk is not None:
            if config is not None:
                raise InvalidArgumentError(
                    field, f"{name} is a foreign key: it takes its parent's generated keys"
                )
            self._reference(table, column, fk, made)
        elif config is not None:
            check_generator(config, column, name in keys.unique, field)
            made.generator.CopyFrom(config)
        elif name in keys.unique:
            self._unique_values(table, column, made)
        else:
            self._believable(table, column, made)
        return made

    def _believable(self, table: Table, column: Column, made: generate_pb2.GeneratedColumn) -> None:
        choices = self._table_choices.get(table.qualified)
        if choices is None:
            keys = self._keys(table)
            taken = {c for fk in keys.references for c in fk.columns} | keys.unique
            taken |= set(self._specs[table.qualified].columns)
            open_columns = {c.name for c in table.columns if c.name not in taken}
            learned = self._learned.get(table.qualified)
            choices = TableChoices(table, open_columns, self._now, learned)
            self._table_choices[table.qualified] = choices
        chosen = choices.choose(column, f"{SPEC} ({table.qualified}.{column.name})")
        if isinstance(chosen, Follows):
            made.following.CopyFrom(
                generate_pb2.FollowingTimestamp(
                    after=self.column(table, chosen.after),
                    min_gap_seconds=chosen.min_gap,
                    max_gap_seconds=chosen.max_gap,
                    latest=chosen.latest,
                )
            )
        else:
            made.generator.CopyFrom(chosen)

    def _keys(self, table: Table) -> _TableKeys:
        """Worked out once per table, however many of its columns ask."""
        known = self._table_keys.get(table.qualified)
        if known is not None:
            return known
        references = [fk for fk in table.foreign_keys if fk.ref_qualified in self._schema.tables]
        referencing = {c for fk in references for c in fk.columns}
        keys = [k for k in (table.primary_key, *table.unique) if k]
        one_to_one: set[str] = set()
        for key in keys:
            if all(c in referencing for c in key):
                inside = [fk for fk in references if set(fk.columns) <= set(key)]
                overlapping = [fk for fk in references if set(fk.columns) & set(key)]
                candidates = inside or overlapping
                one_to_one.add(
                    max(candidates, key=lambda f: self._specs[f.ref_qualified].rows).name
                )
        known = _TableKeys(
            references,
            frozenset(c for key in keys for c in key if c not in referencing),
            frozenset(one_to_one),
        )
        self._table_keys[table.qualified] = known
        return known

    def _reference(
        self, table: Table, column: Column, fk: ForeignKey, made: generate_pb2.GeneratedColumn
    ) -> None:
        parent = self._schema.tables[fk.ref_qualified]
        rows = self._specs[table.qualified].rows
        parent_rows = self._specs[parent.qualified].rows
        where = f"{SPEC} ({table.qualified}.{column.name})"
        if parent_rows == 0 and rows > 0:
            if not column.nullable:
                raise InvalidArgumentError(
                    where, f"references {parent.qualified}, which gets no rows, and is NOT NULL"
                )
            made.generator.null.SetInParent()
            return
        one_to_one = fk.name in self._keys(table).one_to_one
        if one_to_one and rows > parent_rows:
            raise InvalidArgumentError(
                where,
                f"{table.qualified} gets at most {parent_rows} rows: its key is a reference to "
                f"{parent.qualified}, which gets {parent_rows}",
            )
        ref_column = fk.ref_columns[fk.columns.index(column.name)]
        tree = (
            parent.qualified == table.qualified
            and not one_to_one
            and all((c := table.column(n)) is not None and c.nullable for n in fk.columns)
        )
        made.reference.CopyFrom(
            generate_pb2.ColumnReference(
                table=parent.qualified,
                rows=parent_rows,
                column=self.column(parent, ref_column),
                pick=f"{table.qualified}/{fk.name}",
                one_to_one=one_to_one,
                tree=tree,
            )
        )

    def _unique_values(
        self, table: Table, column: Column, made: generate_pb2.GeneratedColumn
    ) -> None:
        rows = self._specs[table.qualified].rows
        where = f"{SPEC} ({table.qualified}.{column.name})"
        if column.family == TypeFamily.UUID:
            made.generator.generate_uuid.SetInParent()
            return
        if column.family in (TypeFamily.INTEGER, TypeFamily.NUMERIC):
            high = (ColumnBounds.of(column.data_type).integer_range() or (0, 2**63 - 1))[1]
            if rows > high:
                raise InvalidArgumentError(
                    where, f"{rows} unique keys do not fit {column.data_type} (at most {high})"
                )
            made.ordinal = True
            return
        if column.family == TypeFamily.TEXT:
            if meaning(column) == PiiKind.EMAIL and (
                not column.max_length or column.max_length >= len(str(rows)) + SHORTEST_EMAIL - 1
            ):
                made.ordinal_email = True
                return
            if column.max_length and column.max_length < len(str(rows)):
                raise InvalidArgumentError(
                    where, f"{rows} unique keys do not fit {column.max_length} characters"
                )
            made.ordinal = True
            return
        raise InvalidArgumentError(
            where,
            f"{column.name} is a key of type {column.data_type}; name a generator with unique "
            "outputs for it",
        )
