"""Subsetting: the row predicates that keep every foreign key of the subset valid.

The rules (README, "Subsets"), over the foreign-key graph left once nullable cycles are broken
(a deferred, cycle-breaking reference never keeps or drops a row: it is written as NULL when
the row it names is not kept):
- A table with a where-clause is a root: it keeps the rows its clause accepts whose
  references into subsetted tables (roots and their descendants) are kept.
- Descendants of roots (tables referencing a root, transitively): with subset_by_foreign_keys,
  a row is kept when it references at least one kept row of a subsetted table and none that
  is not kept (children follow); without, when none of its references points at a row that
  is not kept (the table is copied whole except rows that would dangle).
- With subset_by_foreign_keys, ancestors of the subsetted tables keep exactly the rows kept
  rows reference, transitively (parents follow); without, they are copied whole.
- Tables with no foreign-key path to a root keep every row whose references are kept, which
  is all of them unless they reference a table whose rows the subset chose.
- A cycle with no nullable column cannot follow a filter: its tables are copied whole when the
  subset reaches them only as parents (or not at all), and a subset passing through one is
  refused.
Predicates are plain SQL with semi-joins (`IN (SELECT ...)`), evaluated by the source.
"""

import functools
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from sqlglot import exp

from services.common.errors import InvalidArgumentError
from services.engine.planning.load_order import TableStep
from services.engine.planning.where_clause import DIALECTS
from services.engine.schema import ForeignKey

Alias = tuple[str, ...]  # how a predicate names its table: (schema, table) or a subquery alias

MAX_PREDICATE_CHARS = 200_000


class Role(Enum):
    """What decides which rows of a table are kept."""

    ROOT = "root"  # its where-clause, and its references into subsetted tables
    FOLLOWS = "follows"  # a descendant of roots: references kept rows of subsetted tables
    PULLED = "pulled"  # an ancestor: the rows kept rows reference
    CHECKED = "checked"  # every row whose references are kept
    WHOLE = "whole"  # every row


@dataclass
class _Graph:
    steps: dict[str, TableStep]
    parents: dict[str, list[ForeignKey]] = field(default_factory=dict)
    children: dict[str, list[tuple[str, ForeignKey]]] = field(default_factory=dict)

    @classmethod
    def of(cls, steps: Iterable[TableStep]) -> "_Graph":
        graph = cls({s.table.qualified: s for s in steps})
        for name, step in graph.steps.items():
            graph.parents[name] = [
                fk
                for fk in step.table.foreign_keys
                if fk.ref_qualified in graph.steps
                and not set(fk.columns) & set(step.deferred_columns)
            ]
            graph.children.setdefault(name, [])
        for name, fks in graph.parents.items():
            for fk in fks:
                graph.children[fk.ref_qualified].append((name, fk))
        return graph

    def ancestors(self, names: Iterable[str]) -> set[str]:
        """Tables the given ones reference, transitively (themselves only through a cycle)."""
        return _reach([fk.ref_qualified for n in names for fk in self.parents[n]], self._up)

    def descendants(self, names: Iterable[str]) -> set[str]:
        """Tables referencing the given ones, transitively."""
        return _reach([c for n in names for c, _ in self.children[n]], self._down)

    def _up(self, name: str) -> list[str]:
        return [fk.ref_qualified for fk in self.parents[name]]

    def _down(self, name: str) -> list[str]:
        return [child for child, _ in self.children[name]]

    def cyclic(self) -> set[str]:
        """Tables in a cycle no nullable column breaks."""
        return {name for name in self.steps if name in self.ancestors([name])}


def _reach(start: list[str], step: Callable[[str], list[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(start)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += step(name)
    return seen


def roles(
    graph: "_Graph", roots: set[str], by_foreign_keys: bool, field_path: str
) -> dict[str, Role]:
    """Each table's role in the subset; a subset that would have to pass through a cycle
    without a nullable column is an InvalidArgumentError naming its tables."""
    subsetted = roots | graph.descendants(roots)
    cyclic = graph.cyclic()
    if stuck := sorted(cyclic & subsetted):
        raise InvalidArgumentError(
            field_path,
            f"the subset reaches {', '.join(stuck)}, in a foreign-key cycle with no nullable "
            "column, where rows cannot follow a filter; filter tables outside the cycle",
        )
    role = {name: Role.WHOLE for name in graph.steps}
    role.update({name: Role.FOLLOWS if by_foreign_keys else Role.CHECKED for name in subsetted})
    role.update({name: Role.ROOT for name in roots})
    if not by_foreign_keys:
        return role
    # Parents follow: ancestors keep what their kept children reference. A cycle the subset
    # reaches is copied whole, so its own parents follow it too.
    pullers = set(subsetted)
    while True:
        pulled = graph.ancestors(pullers) - pullers
        checked = graph.descendants(pulled) - pulled - pullers
        whole_cycles = cyclic & (pulled | checked)
        if whole_cycles <= pullers:
            break
        pullers |= whole_cycles
    role.update({name: Role.PULLED for name in pulled - cyclic})
    role.update({name: Role.CHECKED for name in checked - cyclic})
    return role


class Subsetter:
    """Renders each table's kept-row predicate in the source's dialect."""

    def __init__(
        self,
        steps: Sequence[TableStep],
        wheres: dict[str, exp.Expr],
        by_foreign_keys: bool,
        engine: str,
    ) -> None:
        self._graph = _Graph.of(steps)
        self._wheres = wheres
        self._dialect = DIALECTS[engine]
        self.roles = roles(self._graph, set(wheres), by_foreign_keys, "job.source.subsets")
        self._constrained: dict[str, bool] = {}
        # Inheritance parents (PostgreSQL) are read FROM ONLY: their children's rows belong
        # to tables of their own.
        self._parents_of_children = {
            f"{schema}.{name}" for step in steps for schema, name in step.table.inherits
        }
        self._aliases = ((f"vs_s{i}",) for i in itertools.count())

    def _quote(self, *names: str) -> str:
        return ".".join(exp.to_identifier(n, quoted=True).sql(self._dialect) for n in names)

    def _name(self, qualified: str) -> Alias:
        table = self._graph.steps[qualified].table
        return (table.schema, table.name)

    def _columns(self, alias: Alias, columns: Sequence[str]) -> str:
        return ", ".join(self._quote(*alias, c) for c in columns)

    def _own(self, qualified: str, alias: Alias) -> str:
        """The user's where-clause with every column qualified by `alias`."""
        where = self._wheres[qualified].copy()
        for column in list(where.find_all(exp.Column)):
            column.replace(exp.column(column.name, *reversed(alias), quoted=True))
        return f"({where.sql(self._dialect)})"

    def _semi_join(
        self,
        alias: Alias,
        columns: Sequence[str],
        table: str,
        inner: Sequence[str],
        predicate: Callable[[Alias], str | None],
    ) -> str:
        sub = next(self._aliases)
        condition = predicate(sub)
        only = "ONLY " if table in self._parents_of_children else ""
        where = f" WHERE {condition}" if condition else ""
        return (
            f"({self._columns(alias, columns)}) IN (SELECT {self._columns(sub, inner)} "
            f"FROM {only}{self._quote(*self._name(table))} {self._quote(*sub)}{where})"
        )

    def _null(self, alias: Alias, fk: ForeignKey) -> str:
        """True when the reference names no row (MATCH SIMPLE: any of its columns NULL)."""
        return " OR ".join(f"{self._quote(*alias, c)} IS NULL" for c in fk.columns)

    def _points_at(self, alias: Alias, fk: ForeignKey) -> str:
        return self._semi_join(
            alias,
            fk.columns,
            fk.ref_qualified,
            fk.ref_columns,
            functools.partial(self.kept, fk.ref_qualified),
        )

    def kept(self, qualified: str, alias: Alias) -> str | None:
        """The rows of the table the subset keeps, named by `alias`; None for every row."""
        role = self.roles[qualified]
        if role is Role.WHOLE:
            return None
        if role is Role.PULLED:
            return self._pulled(qualified, alias)
        parents = self._checked_references(qualified)
        parts = [f"({self._null(alias, fk)} OR {self._points_at(alias, fk)})" for fk in parents]
        if role is Role.ROOT:
            parts.insert(0, self._own(qualified, alias))
        elif role is Role.FOLLOWS:  # and names at least one kept row
            named = " OR ".join(f"NOT ({self._null(alias, fk)})" for fk in parents)
            parts.append(f"({named})")
        return " AND ".join(parts) or None

    def _checked_references(self, qualified: str) -> list[ForeignKey]:
        """The references whose rows decide the table's: those into tables the subset
        chooses rows of; a table whose rows the subset follows never waits on the parents
        it pulls (they are chosen by it)."""
        role = self.roles[qualified]
        return [
            fk
            for fk in self._graph.parents[qualified]
            if self._is_constrained(fk.ref_qualified)
            and (role is Role.CHECKED or self.roles[fk.ref_qualified] is not Role.PULLED)
        ]

    def _is_constrained(self, qualified: str) -> bool:
        """Whether the subset keeps fewer than all of the table's rows (kept() is not None)."""
        if qualified not in self._constrained:
            role = self.roles[qualified]
            self._constrained[qualified] = role is not Role.WHOLE and (
                role is not Role.CHECKED or bool(self._checked_references(qualified))
            )
        return self._constrained[qualified]

    def _pulled(self, qualified: str, alias: Alias) -> str:
        """Rows some kept row of a pulling table references."""
        pulled = [
            self._semi_join(
                alias, fk.ref_columns, child, fk.columns, functools.partial(self.kept, child)
            )
            for child, fk in self._graph.children[qualified]
            if self.roles[child] is not Role.CHECKED
        ]
        return "(" + " OR ".join(pulled) + ")"

    def where(self, qualified: str) -> str:
        """The predicate for a top-level read of the table (columns qualified by its name)."""
        predicate = self.kept(qualified, self._name(qualified)) or ""
        if len(predicate) > MAX_PREDICATE_CHARS:
            raise InvalidArgumentError(
                "job.source.subsets",
                f"the subset of {qualified} is too intricate to express "
                f"({len(predicate)} characters of SQL); filter fewer tables",
            )
        return predicate

    def deferred_values(self, qualified: str) -> dict[str, str]:
        """For each deferred column: its value where the referenced row is kept, else NULL."""
        step = self._graph.steps[qualified]
        alias = self._name(qualified)
        values: dict[str, str] = {}
        for fk in step.table.foreign_keys:
            deferred = [c for c in fk.columns if c in step.deferred_columns]
            if (
                not deferred
                or fk.ref_qualified not in self._graph.steps
                or not self._is_constrained(fk.ref_qualified)
            ):
                continue
            join = self._points_at(alias, fk)
            for column in deferred:
                values[column] = f"CASE WHEN {join} THEN {self._quote(*alias, column)} END"
        return values
