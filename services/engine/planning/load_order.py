"""Foreign-key graph to runnable steps: which tables wait for which, and which foreign-key
columns are written later to break cycles. Pure code."""

from collections.abc import Iterable
from dataclasses import dataclass

from services.common.errors import InvalidArgumentError
from services.engine.schema import ForeignKey, Table


@dataclass(frozen=True)
class TableStep:
    table: Table
    depends_on: tuple[str, ...]  # qualified names that must be written first
    deferred_columns: tuple[str, ...]  # written NULL first, filled in after every table


def plan_tables(tables: Iterable[Table]) -> list[TableStep]:
    """Tables in a valid load order. Foreign keys between the given tables form the graph;
    references to tables outside it are ignored. Each cycle is broken at nullable foreign keys;
    a cycle without one is an InvalidArgumentError naming its tables."""
    by_name = {t.qualified: t for t in sorted(tables, key=lambda t: t.qualified)}
    deferred: dict[str, set[ForeignKey]] = {name: set() for name in by_name}
    edges = {name: _references(table, by_name, set()) for name, table in by_name.items()}
    for component in _cycles(edges):
        _break_cycle(component, by_name, deferred, edges)
    order = _topological(edges)
    return [
        TableStep(
            table=by_name[name],
            depends_on=tuple(sorted(edges[name] - {name})),
            deferred_columns=tuple(sorted({c for fk in deferred[name] for c in fk.columns})),
        )
        for name in order
    ]


def _references(table: Table, by_name: dict[str, Table], skip: set[ForeignKey]) -> set[str]:
    return {
        fk.ref_qualified
        for fk in table.foreign_keys
        if fk.ref_qualified in by_name and fk not in skip
    }


def _nullable(table: Table, fk: ForeignKey) -> bool:
    return all(col.nullable for c in fk.columns if (col := table.column(c)) is not None)


def _break_cycle(
    component: set[str],
    by_name: dict[str, Table],
    deferred: dict[str, set[ForeignKey]],
    edges: dict[str, set[str]],
) -> None:
    """Defer nullable foreign keys inside the component until no cycle is left in it."""
    while cycle := _find_cycle({n: edges[n] & component for n in component}):
        for name in cycle:
            table = by_name[name]
            candidates = [
                fk
                for fk in table.foreign_keys
                if fk.ref_qualified in component
                and fk not in deferred[name]
                and fk.ref_qualified in cycle
                and _nullable(table, fk)
            ]
            if candidates:
                if not table.primary_key:
                    raise InvalidArgumentError(
                        "job.source",
                        f"table {name} is in a foreign-key cycle and needs a primary key so "
                        "its deferred foreign-key columns can be filled in later",
                    )
                deferred[name].add(candidates[0])
                edges[name] = _references(table, by_name, deferred[name])
                break
        else:
            path = " -> ".join([*cycle, cycle[0]])
            raise InvalidArgumentError(
                "job.source",
                f"foreign-key cycle {path} has no nullable foreign-key column to break it",
            )


def _cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components that contain a cycle (Tarjan), self-loops included."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges[node]:
                found.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _find_cycle(edges: dict[str, set[str]]) -> list[str]:
    """One cycle as a list of nodes, or [] when the graph is acyclic."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return []

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def _topological(edges: dict[str, set[str]]) -> list[str]:
    """Kahn's order over acyclic edges (self-loops ignored), ties broken by name."""
    waiting = {name: set(refs) - {name} for name, refs in edges.items()}
    order: list[str] = []
    while waiting:
        ready = sorted(name for name, refs in waiting.items() if not refs)
        if not ready:
            raise ValueError(f"cycle left among {sorted(waiting)}")  # _break_cycle's duty
        for name in ready:
            del waiting[name]
        for refs in waiting.values():
            refs.difference_update(ready)
        order.extend(ready)
    return order
