"""Foreign-key graph to runnable steps: which tables wait for which, which foreign-key
columns are written later to break cycles, and which foreign keys are loaded with their
constraints relaxed where no nullable column breaks a cycle. Pure code."""

from collections.abc import Iterable
from dataclasses import dataclass

from services.engine.schema import ForeignKey, Table


@dataclass(frozen=True)
class TableStep:
    table: Table
    depends_on: tuple[str, ...]  # qualified names that must be written first
    deferred_columns: tuple[str, ...]  # written NULL first, filled in after every table
    # Foreign keys of a cycle no nullable column breaks that may name rows written after this
    # table's, as pg_restore loads such cycles: their constraints are relaxed until the whole
    # load group is written, then checked.
    relaxed_foreign_keys: tuple[ForeignKey, ...] = ()
    # The tables of such a cycle form a load group, named after its first table by name: they
    # follow each other in the load order, share their depends_on (no member waits for
    # another) and are written by one step, in this order.
    load_group: str = ""


def plan_tables(tables: Iterable[Table]) -> list[TableStep]:
    """Tables in a valid load order. Foreign keys between the given tables form the graph;
    references to tables outside it are ignored. Each cycle is broken at nullable foreign keys;
    a cycle without one is loaded as one group with some of its foreign keys relaxed."""
    by_name = {t.qualified: t for t in sorted(tables, key=lambda t: t.qualified)}
    deferred: dict[str, set[ForeignKey]] = {name: set() for name in by_name}
    relaxed: dict[str, set[ForeignKey]] = {name: set() for name in by_name}
    edges = {name: _references(table, by_name, set()) for name, table in by_name.items()}
    for component in _cycles(edges):
        _break_cycle(component, by_name, deferred, relaxed, edges)
    groups = _load_groups(edges, relaxed)
    members: dict[str, list[str]] = {}
    for name in by_name:
        members.setdefault(groups.get(name, name), []).append(name)
    # A group is one node of the order: its members wait for what any of them waits for.
    waits = {
        node: {groups.get(r, r) for n in names for r in edges[n]} - {node}
        for node, names in members.items()
    }
    steps = []
    for node in _topological(waits):
        names = set(members[node])
        outside = tuple(sorted(set().union(*(edges[n] for n in names)) - names))
        for name in _topological({n: edges[n] & names for n in names}):
            steps.append(
                TableStep(
                    table=by_name[name],
                    depends_on=outside,
                    deferred_columns=tuple(
                        sorted({c for fk in deferred[name] for c in fk.columns})
                    ),
                    relaxed_foreign_keys=tuple(sorted(relaxed[name], key=lambda fk: fk.name)),
                    load_group=groups.get(name, ""),
                )
            )
    return steps


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
    relaxed: dict[str, set[ForeignKey]],
    edges: dict[str, set[str]],
) -> None:
    """Take edges out of the component until no cycle is left in it: a nullable foreign key
    of a table with a primary key is deferred (written NULL, filled in by key later); a cycle
    without one has the foreign keys of its first table into the next relaxed."""
    while cycle := _find_cycle({n: edges[n] & component for n in component}):
        for name in cycle:
            table = by_name[name]
            candidates = [
                fk
                for fk in table.foreign_keys
                if fk.ref_qualified in cycle
                and fk not in deferred[name]
                and _nullable(table, fk)
                and table.primary_key  # the deferred columns are filled in by key
            ]
            if candidates:
                deferred[name].add(candidates[0])
                break
        else:
            name, target = cycle[0], cycle[1 % len(cycle)]
            relaxed[name].update(
                fk
                for fk in by_name[name].foreign_keys
                if fk.ref_qualified == target and fk not in deferred[name]
            )
        # `name` is the table that just lost an edge, in either branch.
        edges[name] = _references(by_name[name], by_name, deferred[name] | relaxed[name])


def _load_groups(edges: dict[str, set[str]], relaxed: dict[str, set[ForeignKey]]) -> dict[str, str]:
    """Each table of a cycle held by relaxed foreign keys, by its group's name: the first by
    name of the cycle's strongly connected component. Every table on a path between the two
    ends of a relaxed key is in it, so the group can be written as one step."""
    full = {name: edges[name] | {fk.ref_qualified for fk in relaxed[name]} for name in edges}
    return {name: min(group) for group in _cycles(full) for name in group}


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
