"""The subset rules of the README, computed the slow, plain way: over rows held in memory,
one table and one row at a time. The property tests compare the SQL the planner writes
with this, and this with the README's invariants."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from services.engine.planning.load_order import TableStep
from services.engine.schema import ForeignKey

Row = dict[str, Any]
Key = tuple[Any, ...]


def _closure(start: Iterable[str], step: Callable[[str], Iterable[str]]) -> set[str]:
    found: set[str] = set()
    todo = list(start)
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(step(name))
    return found


def target(row: Row, fk: ForeignKey) -> Key | None:
    """The key a row's reference names, or None when a column is NULL (MATCH SIMPLE)."""
    key = tuple(row[c] for c in fk.columns)
    return None if any(v is None for v in key) else key


class Reference:
    def __init__(
        self,
        steps: Sequence[TableStep],
        rows: Mapping[str, list[Row]],
        clauses: Mapping[str, Callable[[Row], bool]],
        by_foreign_keys: bool,
    ) -> None:
        self.steps = {s.table.qualified: s for s in steps}
        self.rows = rows
        self.clauses = clauses
        self.kept: dict[str, list[Row]] = {}
        self._compute(by_foreign_keys)

    def refs(self, name: str) -> list[ForeignKey]:
        """References between the tables, but for those deferred to break a cycle."""
        step = self.steps[name]
        return [
            fk
            for fk in step.table.foreign_keys
            if fk.ref_qualified in self.steps and not set(fk.columns) & set(step.deferred_columns)
        ]

    def _parents(self, name: str) -> list[str]:
        return [fk.ref_qualified for fk in self.refs(name)]

    def _children(self, name: str) -> list[str]:
        return [c for c in self.steps if name in self._parents(c)]

    def index(self, name: str, columns: Sequence[str]) -> set[Key]:
        return {tuple(r[c] for c in columns) for r in self.kept[name]}

    def _all_kept(self, name: str, row: Row, parents: set[str]) -> bool:
        return all(
            (key := target(row, fk)) is None or key in self.index(fk.ref_qualified, fk.ref_columns)
            for fk in self.refs(name)
            if fk.ref_qualified in parents
        )

    def _compute(self, by_foreign_keys: bool) -> None:
        cyclic = {n for n in self.steps if n in _closure(self._parents(n), self._parents)}
        roots = set(self.clauses)
        subset = _closure(roots, self._children)
        assert not cyclic & subset, "the planner refuses these"
        # Roots and their descendants, parents first (their references are acyclic).
        done: set[str] = set()
        while done != subset:
            for name in sorted(subset - done):
                if set(self._parents(name)) & subset <= done:
                    self.kept[name] = [
                        r for r in self.rows[name] if self._keeps(name, r, subset, by_foreign_keys)
                    ]
                    done.add(name)
        if not by_foreign_keys:
            for name in set(self.steps) - subset:
                self.kept[name] = list(self.rows[name])
            return
        pullers = set(subset)
        while True:
            pulled = _closure([p for n in pullers for p in self._parents(n)], self._parents)
            pulled -= pullers
            checked = _closure([c for n in pulled for c in self._children(n)], self._children)
            checked -= pulled | pullers
            if cyclic & (pulled | checked) <= pullers:
                break
            pullers |= cyclic & (pulled | checked)
        for name in set(self.steps) - subset:
            self.kept[name] = [] if name in pulled - cyclic else list(self.rows[name])
        self._pull(pulled - cyclic, (pullers | pulled) - checked)
        rest = set(self.steps) - subset - pulled - pullers
        while True:  # the largest set of rows whose references are all kept
            before = sum(len(self.kept[n]) for n in rest)
            for name in rest:
                self.kept[name] = [
                    r for r in self.kept[name] if self._all_kept(name, r, set(self.steps))
                ]
            if sum(len(self.kept[n]) for n in rest) == before:
                break

    def _keeps(self, name: str, row: Row, subset: set[str], follows: bool) -> bool:
        if not self._all_kept(name, row, subset):
            return False
        if name in self.clauses:
            return self.clauses[name](row)
        # A descendant following its parents names at least one kept row of theirs.
        return not follows or any(
            target(row, fk) is not None for fk in self.refs(name) if fk.ref_qualified in subset
        )

    def _pull(self, pulled: set[str], pulling: set[str]) -> None:
        """Rows of `pulled` tables some kept row of a `pulling` table references, until no
        more come."""
        while True:
            grew = False
            for name in pulled:
                wanted: set[tuple[tuple[str, ...], Key]] = set()
                for child in pulling:
                    for fk in self.refs(child):
                        if fk.ref_qualified == name:
                            wanted |= {
                                (fk.ref_columns, key)
                                for r in self.kept[child]
                                if (key := target(r, fk)) is not None
                            }
                rows = [
                    r
                    for r in self.rows[name]
                    if any(tuple(r[c] for c in cols) == key for cols, key in wanted)
                ]
                if len(rows) != len(self.kept[name]):
                    self.kept[name], grew = rows, True
            if not grew:
                return

    def written(self, name: str) -> list[Row]:
        """The kept rows as written: a deferred reference to a row not kept is NULL."""
        step = self.steps[name]
        out = []
        for row in self.kept[name]:
            row = dict(row)
            for fk in step.table.foreign_keys:
                deferred = set(fk.columns) & set(step.deferred_columns)
                if deferred and fk.ref_qualified in self.steps:
                    key = target(row, fk)
                    if key is not None and key not in self.index(fk.ref_qualified, fk.ref_columns):
                        row.update(dict.fromkeys(deferred))
            out.append(row)
        return out
