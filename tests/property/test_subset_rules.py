"""The subset SQL the planner writes keeps exactly the rows the reference keeps, on random
foreign-key graphs (self-references, cycles broken by nullable columns, composite keys,
several roots, diamonds) and random where-clauses, on PostgreSQL, MariaDB and SQLite.
`make test-deep` draws many more examples (VEILSYNC_DEEP=1)."""

import itertools
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.engine.planning.load_order import plan_tables
from services.engine.planning.subset import Subsetter
from services.engine.planning.where_clause import parse_where
from services.engine.schema import Column, ForeignKey, Table, TypeFamily
from tests.integration.mariadb import admin
from tests.property.subset_reference import Reference, Row, target

EXAMPLES = 300 if os.environ.get("VEILSYNC_DEEP") else 12

# A where-clause as a tree: ("cmp", column, op, value), ("null", column),
# ("in", column, values), ("mod", column, m, r), ("and"|"or", a, b), ("not", a).
Clause = tuple[Any, ...]
_OPS: dict[str, Callable[[int, int], bool]] = {
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
}


def clause_sql(c: Clause) -> str:
    kind = c[0]
    if kind == "cmp":
        return f"{c[1]} {c[2]} {c[3]}"
    if kind == "null":
        return f"{c[1]} IS NULL"
    if kind == "in":
        return f"{c[1]} IN ({', '.join(map(str, c[2]))})"
    if kind == "mod":
        return f"{c[1]} % {c[2]} = {c[3]}"
    if kind == "not":
        return f"NOT ({clause_sql(c[1])})"
    return f"({clause_sql(c[1])}) {kind.upper()} ({clause_sql(c[2])})"


def truth(c: Clause, row: Row) -> bool | None:
    """SQL's three-valued logic: None is unknown."""
    kind = c[0]
    if kind == "null":
        return row[c[1]] is None
    if kind == "not":
        inner = truth(c[1], row)
        return None if inner is None else not inner
    if kind in ("and", "or"):
        a, b = truth(c[1], row), truth(c[2], row)
        if kind == "and":
            return False if False in (a, b) else (None if None in (a, b) else True)
        return True if True in (a, b) else (None if None in (a, b) else False)
    value = row[c[1]]
    if value is None:
        return None
    if kind == "cmp":
        return _OPS[c[2]](value, c[3])
    if kind == "in":
        return value in c[2]
    return bool(value % c[2] == c[3])


def _atoms(column: str) -> st.SearchStrategy[Clause]:
    small = st.integers(0, 5)
    return st.one_of(
        st.tuples(st.just("cmp"), st.just(column), st.sampled_from(list(_OPS)), small),
        st.tuples(st.just("null"), st.just(column)),
        st.tuples(st.just("in"), st.just(column), st.lists(small, min_size=1, max_size=3)),
        st.tuples(st.just("mod"), st.just(column), st.integers(2, 3), st.integers(0, 1)),
    )


def clauses() -> st.SearchStrategy[Clause]:
    atoms = st.one_of(_atoms("v"), _atoms("id"))
    return st.recursive(
        atoms,
        lambda inner: st.one_of(
            st.tuples(st.sampled_from(["and", "or"]), inner, inner),
            st.tuples(st.just("not"), inner),
        ),
        max_leaves=3,
    )


@dataclass
class Spec:
    """Tables t0..tn: key `id` (and `k` where composite), a value `v`, and foreign keys
    `f{i}_id` (`f{i}_k`) each to a table's key."""

    composite: list[bool]
    fks: list[list[tuple[int, bool]]]  # per table: (referenced table, nullable)
    rows: list[list[Row]]
    clauses: dict[int, Clause]
    by_foreign_keys: bool

    def key(self, table: int) -> list[str]:
        return ["id", "k"] if self.composite[table] else ["id"]

    def fk_columns(self, table: int, n: int) -> list[str]:
        parent = self.fks[table][n][0]
        return [f"f{n}_{c}" for c in self.key(parent)]

    def model(self, schema: str) -> list[Table]:
        tables = []
        for i in range(len(self.composite)):
            columns = [Column(c, "integer", TypeFamily.INTEGER, False) for c in self.key(i)]
            columns.append(Column("v", "integer", TypeFamily.INTEGER, True))
            fks = []
            for n, (parent, nullable) in enumerate(self.fks[i]):
                names = self.fk_columns(i, n)
                columns += [Column(c, "integer", TypeFamily.INTEGER, nullable) for c in names]
                fks.append(
                    ForeignKey(
                        f"t{i}_f{n}", tuple(names), schema, f"t{parent}", tuple(self.key(parent))
                    )
                )
            tables.append(
                Table(schema, f"t{i}", tuple(columns), tuple(self.key(i)), foreign_keys=tuple(fks))
            )
        return tables


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    count = draw(st.integers(1, 5))
    composite = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    fks: list[list[tuple[int, bool]]] = []
    for i in range(count):
        refs = draw(st.lists(st.integers(0, count - 1), max_size=3))
        # Forward references may be NOT NULL; a reference back (or to itself) closes a
        # cycle, which a nullable column must break.
        fks.append([(p, draw(st.booleans()) if p < i else True) for p in refs])
    sizes = draw(st.lists(st.integers(0, 7), min_size=count, max_size=count))
    for i in range(count):
        if any(not nullable and sizes[p] == 0 for p, nullable in fks[i]):
            sizes[i] = 0  # a NOT NULL reference needs a row to name
    spec = Spec(composite, fks, [], {}, draw(st.booleans()))
    for i in range(count):
        rows = []
        for ident in range(1, sizes[i] + 1):
            row: Row = {"id": ident, "v": draw(st.none() | st.integers(0, 5))}
            if composite[i]:
                row["k"] = ident % 3
            for n, (parent, nullable) in enumerate(fks[i]):
                choices = [None] if nullable or not sizes[parent] else []
                choices += list(range(1, sizes[parent] + 1))
                ref = draw(st.sampled_from(choices))
                key = [] if ref is None else [ref, ref % 3][: len(spec.key(parent))]
                for c, value in itertools.zip_longest(spec.fk_columns(i, n), key):
                    row[c] = value
            rows.append(row)
        spec.rows.append(rows)
    roots = draw(st.sets(st.integers(0, count - 1), min_size=1, max_size=2))
    spec.clauses = {r: draw(clauses()) for r in sorted(roots)}
    return spec


class Scratch:
    """One engine: a fresh schema per example, tables created and filled, queries run."""

    engine: str
    quote: str = '"'

    def schema(self) -> str:
        raise NotImplementedError

    def run(self, statement: str, params: Any = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def load(self, spec: Spec, tables: list[Table]) -> None:
        for table, rows in zip(tables, spec.rows, strict=True):
            names = [c.name for c in table.columns]
            self.run(
                f"CREATE TABLE {table.schema}.{table.name} ("
                + ", ".join(f"{n} integer" for n in names)
                + f", PRIMARY KEY ({', '.join(table.primary_key)}))"
            )
            for row in rows:
                marks = ", ".join([self.mark] * len(names))
                self.run(
                    f"INSERT INTO {table.schema}.{table.name} VALUES ({marks})",
                    [row[n] for n in names],
                )

    mark = "%s"
    conn: Any = None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


class PostgresScratch(Scratch):
    engine = "postgres"

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)

    def schema(self) -> str:
        name = f"s{uuid.uuid4().hex[:8]}"
        self.run(f"CREATE SCHEMA {name}")
        return name

    def run(self, statement: str, params: Any = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.execute(statement.encode(), params or None)
        return cur.fetchall() if cur.description else []


class MariaScratch(Scratch):
    engine = "mysql"

    def __init__(self, make: Callable[[str], str]) -> None:
        self.make = make
        self.conn = admin()

    def schema(self) -> str:
        return self.make("subset").rsplit("/", 1)[1]

    def run(self, statement: str, params: Any = ()) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(statement, params or None)
            return list(cur.fetchall())


class SqliteScratch(Scratch):
    engine = "sqlite"
    mark = "?"

    def schema(self) -> str:
        self.close()
        self.conn = sqlite3.connect(":memory:")
        return "main"

    def run(self, statement: str, params: Any = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(statement, params).fetchall()


@pytest.fixture(
    params=[
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mariadb),
        pytest.param("sqlite", marks=pytest.mark.sqlite),
    ]
)
def scratch(request: pytest.FixtureRequest) -> Iterator[Scratch]:
    """Only the engine under test's server is asked for, so each case counts for its own."""
    engine: Scratch
    if request.param == "postgres":
        engine = PostgresScratch(request.getfixturevalue("pg_database")("subset"))
    elif request.param == "mysql":
        engine = MariaScratch(request.getfixturevalue("mysql_database"))
    else:
        engine = SqliteScratch()
    yield engine
    engine.close()


def _selected(scratch: Scratch, subsetter: Subsetter, table: Table) -> set[tuple[Any, ...]]:
    """The key and deferred columns of the rows the planner's SQL keeps, as written."""
    values = subsetter.deferred_values(table.qualified)
    columns = [*table.primary_key, *sorted(values)]
    select = ", ".join([*table.primary_key, *(values[c] for c in sorted(values))])
    where = subsetter.where(table.qualified)
    query = f"SELECT {select} FROM {table.schema}.{table.name}" + (
        f" WHERE {where}" if where else ""
    )
    del columns
    return set(scratch.run(query))


def _expected(reference: Reference, table: Table, deferred: list[str]) -> set[tuple[Any, ...]]:
    names = [*table.primary_key, *deferred]
    return {tuple(r[c] for c in names) for r in reference.written(table.qualified)}


def check_invariants(spec: Spec, reference: Reference, tables: list[Table]) -> None:
    """The README's invariants, on the reference's own result."""
    by_name = {t.name: t for t in tables}
    for i, table in enumerate(tables):
        kept = reference.written(table.qualified)
        if i in spec.clauses:  # (b) a root never holds a row its clause rejects
            assert all(truth(spec.clauses[i], r) for r in kept)
        for row in kept:  # (a), (d): every reference names a kept row
            for fk in table.foreign_keys:
                key = target(row, fk)
                parent = by_name[fk.ref_table]
                assert key is None or key in reference.index(parent.qualified, fk.ref_columns)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=specs())
def test_the_subset_sql_keeps_exactly_the_reference_rows(scratch: Scratch, spec: Spec) -> None:
    tables = spec.model(scratch.schema())
    scratch.load(spec, tables)
    steps = plan_tables(tables)
    wheres = {
        tables[i].qualified: parse_where(tables[i], clause_sql(c), scratch.engine, "where")
        for i, c in spec.clauses.items()
    }
    subsetter = Subsetter(steps, wheres, spec.by_foreign_keys, scratch.engine)
    rows = {t.qualified: r for t, r in zip(tables, spec.rows, strict=True)}
    clauses = {
        tables[i].qualified: (lambda row, c=c: truth(c, row) is True)
        for i, c in spec.clauses.items()
    }
    reference = Reference(steps, rows, clauses, spec.by_foreign_keys)
    check_invariants(spec, reference, tables)
    for step in steps:
        table = step.table
        deferred = sorted(subsetter.deferred_values(table.qualified))
        assert _selected(scratch, subsetter, table) == _expected(reference, table, deferred), (
            table.qualified
        )
