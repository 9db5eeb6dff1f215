"""Subsetting: user where-clauses, checked, and the row predicates that keep every foreign key
of the subset valid.

Rules, over the foreign-key graph left once cycles are broken:
- A table with a where-clause keeps its matching rows (a root).
- With subset_by_foreign_keys, a table keeps only rows whose references point at kept rows.
- Every row a kept row references is kept too (parents follow), transitively; a root's
  ancestors without a where-clause of their own keep only such referenced rows.
- A deferred (cycle-breaking) reference to a row that is not kept is written as NULL.
Predicates are plain SQL with semi-joins (`IN (SELECT ...)`), evaluated by the source.
"""

import functools
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from services.common.errors import InvalidArgumentError
from services.engine.planning.load_order import TableStep
from services.engine.planning.where_clause import DIALECTS
from services.engine.schema import ForeignKey

Alias = tuple[str, ...]  # how a predicate names its table: (schema, table) or a subquery alias

MAX_PREDICATE_CHARS = 200_000


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
                and fk.ref_qualified != name
                and not set(fk.columns) & set(step.deferred_columns)
            ]
            graph.children.setdefault(name, [])
        for name, fks in graph.parents.items():
            for fk in fks:
                graph.children[fk.ref_qualified].append((name, fk))
        return graph

    def ancestors(self, roots: Iterable[str]) -> set[str]:
        seen: set[str] = set()
        todo = [fk.ref_qualified for r in roots for fk in self.parents[r]]
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo += [fk.ref_qualified for fk in self.parents[name]]
        return seen


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
        self._by_fk = by_foreign_keys
        self._dialect = DIALECTS[engine]
        self._ancestors = self._graph.ancestors(wheres) - set(wheres)
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
        return str(where.sql(self._dialect))

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
        where = f" WHERE {condition}" if condition else ""
        return (
            f"({self._columns(alias, columns)}) IN (SELECT {self._columns(sub, inner)} "
            f"FROM {self._quote(*self._name(table))} {self._quote(*sub)}{where})"
        )

    def down(self, qualified: str, alias: Alias) -> str | None:
        """Rows kept by the table's own filter and, by foreign keys, its parents' filters."""
        parts = []
        if qualified in self._wheres:
            parts.append(self._own(qualified, alias))
        elif qualified in self._ancestors:
            parts.append("1 = 0")  # only the rows its children pull in
        if self._by_fk:
            for fk in self._graph.parents[qualified]:
                if self.down(fk.ref_qualified, ("x",)) is None:
                    continue
                nulls = " OR ".join(f"{self._quote(*alias, c)} IS NULL" for c in fk.columns)
                join = self._semi_join(
                    alias,
                    fk.columns,
                    fk.ref_qualified,
                    fk.ref_columns,
                    functools.partial(self.down, fk.ref_qualified),
                )
                parts.append(f"({nulls} OR {join})")
        return " AND ".join(parts) or None

    def kept(self, qualified: str, alias: Alias) -> str | None:
        """Rows copied: the table's own selection plus every row a kept child references."""
        own = self.down(qualified, alias)
        if own is None:
            return None
        pulled = [
            self._semi_join(
                alias,
                fk.ref_columns,
                child,
                fk.columns,
                functools.partial(self.kept, child),
            )
            for child, fk in self._graph.children[qualified]
        ]
        return "(" + " OR ".join([own, *pulled]) + ")"

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
        if not self._wheres:
            return {}
        step = self._graph.steps[qualified]
        alias = self._name(qualified)
        values: dict[str, str] = {}
        for fk in step.table.foreign_keys:
            deferred = [c for c in fk.columns if c in step.deferred_columns]
            if not deferred or fk.ref_qualified not in self._graph.steps:
                continue
            parent = self.kept(fk.ref_qualified, ("x",))
            if parent is None:
                continue
            join = self._semi_join(
                alias,
                fk.columns,
                fk.ref_qualified,
                fk.ref_columns,
                functools.partial(self.kept, fk.ref_qualified),
            )
            for column in deferred:
                values[column] = f"CASE WHEN {join} THEN {self._quote(*alias, column)} END"
        return values
