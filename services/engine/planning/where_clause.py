"""User where-clauses of subsets: parsed, and checked to be one side-effect-free boolean
expression over the table's own columns.

The source evaluates a where-clause once per row, and again in every semi-join of the tables
that follow it, so what a clause may contain is an allowlist, not a denylist: columns,
literals, operators and a few functions that are cheap and cannot touch anything but the row
(`length(repeat(email, 1000000))` once ran for 19 s on 59 rows): every node of the parsed
expression must be of a kind where_allowlist allows."""

from collections.abc import Iterator

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from services.common.errors import InvalidArgumentError
from services.engine.planning.where_allowlist import (
    OPERATORS,
    allowed_functions,
    allows_function,
    allows_named_function,
)
from services.engine.schema import Table

DIALECTS = {"postgres": "postgres", "sqlite": "sqlite", "mysql": "mysql"}

# Long enough for an IN list of a thousand ids; the subset repeats a clause in the predicates
# of the tables that follow it.
MAX_WHERE_CHARS = 10_000
# sqlglot parses, copies and writes SQL recursively and fails near 45 nested parentheses; a
# chain of one binary operator (a OR b OR c ...), which it handles iteratively, is one level.
MAX_NESTING = 32

# Roots a where-clause may have: something that is true or false.
_BOOLEAN_ROOTS = (
    exp.Predicate,
    exp.Connector,
    exp.Not,
    exp.Boolean,
    exp.Column,
    exp.Paren,
    exp.Escape,
)


def parse_where(table: Table, text: str, engine: str, field: str) -> exp.Expr:
    """The where-clause as a checked expression over `table`'s own columns."""
    if len(text) > MAX_WHERE_CHARS:
        raise InvalidArgumentError(
            field, f"is {len(text):,} characters; at most {MAX_WHERE_CHARS:,} are allowed"
        )
    try:
        statements = sqlglot.parse(text, read=DIALECTS[engine])
    except RecursionError as err:
        raise InvalidArgumentError(field, _TOO_DEEP) from err
    except SqlglotError as err:
        raise InvalidArgumentError(field, f"not a valid SQL expression: {err}") from err
    if len(statements) != 1 or statements[0] is None:
        raise InvalidArgumentError(field, "must be one boolean expression, not several statements")
    where: exp.Expr = statements[0]
    if not isinstance(where, _BOOLEAN_ROOTS) or isinstance(where, exp.Query):
        raise InvalidArgumentError(field, 'must be one boolean expression, such as "id < 100"')
    if _nesting(where) > MAX_NESTING:
        raise InvalidArgumentError(field, _TOO_DEEP)
    if where.find(exp.Query, exp.Subquery, exp.Command, exp.DDL, exp.DML) is not None:
        raise InvalidArgumentError(field, "subqueries and statements are not allowed")
    for node in where.walk():
        if problem := _refusal(node, text, engine):
            raise InvalidArgumentError(field, problem)
    names = {c.name for c in table.columns}
    for column in where.find_all(exp.Column):
        if column.table and column.table != table.name:
            raise InvalidArgumentError(
                field, f"{column.sql()} is not a column of {table.qualified}"
            )
        if column.name not in names:
            raise InvalidArgumentError(
                field, f"column {column.name!r} does not exist in {table.qualified}"
            )
    return where


_TOO_DEEP = f"is nested more than {MAX_NESTING} levels deep"


def _refusal(node: exp.Expr, text: str, engine: str) -> str | None:
    """Why `node` of the clause `text` may not appear in a where-clause on `engine`; None when
    it may."""
    kind = type(node)
    if isinstance(node, exp.Anonymous) and allows_named_function(node.name, engine):
        return None
    if allows_function(kind, engine):
        return None
    if kind in OPERATORS:
        if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.USERDEFINED:
            # A user-defined type's input function is arbitrary code.
            return f"a cast to the user-defined type {node.sql(DIALECTS[engine])} is not allowed"
        return None
    rendered = node.sql(DIALECTS[engine])
    if isinstance(node, exp.Func):
        start, end = node.meta.get("start"), node.meta.get("end")
        if start is not None and end is not None:  # a call, named as the user wrote it
            return _function_refusal(text[start : end + 1].lower(), engine)
        name, paren, _ = rendered.partition("(")
        if paren and name.strip().isidentifier():  # an operator sqlglot writes as a call
            return _function_refusal(name.strip().lower(), engine)
    return (
        f"{rendered!r} ({node.key}) is not allowed in a subset where-clause; use columns, "
        "literals, comparison, arithmetic and logical operators, and the allowed functions"
    )


def _function_refusal(name: str, engine: str) -> str:
    return f"function {name}() is not allowed in a subset where-clause; allowed: " + ", ".join(
        allowed_functions(engine)
    )


def _nesting(root: exp.Expr) -> int:
    """How deeply `root` nests; a chain of one binary operator counts as one level."""
    deepest = 0
    stack: list[tuple[exp.Expr, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend(
            (child, depth if _chained(node, child) else depth + 1) for child in _children(node)
        )
    return deepest


def _chained(parent: exp.Expr, child: exp.Expr) -> bool:
    return isinstance(child, exp.Binary) and type(child) is type(parent)


def _children(node: exp.Expr) -> Iterator[exp.Expr]:
    for value in node.args.values():
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, exp.Expr):
                yield child
