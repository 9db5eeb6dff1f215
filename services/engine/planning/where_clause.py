"""User where-clauses of subsets: parsed, and checked to be one side-effect-free boolean
expression over the table's own columns."""

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from services.common.errors import InvalidArgumentError
from services.engine.schema import Table

DIALECTS = {"postgres": "postgres", "sqlite": "sqlite", "mysql": "mysql"}

# Roots a where-clause may have: something that is true or false.
_BOOLEAN_ROOTS = (exp.Predicate, exp.Connector, exp.Not, exp.Boolean, exp.Column, exp.Paren)


def parse_where(table: Table, text: str, engine: str, field: str) -> exp.Expr:
    """The where-clause as a checked expression over `table`'s own columns."""
    try:
        statements = sqlglot.parse(text, read=DIALECTS[engine])
    except ParseError as err:
        raise InvalidArgumentError(field, f"not a valid SQL expression: {err}") from err
    if len(statements) != 1 or statements[0] is None:
        raise InvalidArgumentError(field, "must be one boolean expression, not several statements")
    where: exp.Expr = statements[0]
    if not isinstance(where, _BOOLEAN_ROOTS) or isinstance(where, exp.Query):
        raise InvalidArgumentError(field, 'must be one boolean expression, such as "id < 100"')
    if where.find(exp.Query, exp.Subquery, exp.Command, exp.DDL, exp.DML) is not None:
        raise InvalidArgumentError(field, "subqueries and statements are not allowed")
    if (function := where.find(exp.Anonymous)) is not None:
        raise InvalidArgumentError(field, f"unknown function {function.name}()")
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
