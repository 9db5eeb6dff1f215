"""A sandboxed expression language for the code transformer: Python expression syntax over
`value` and `row`, with a whitelist of node types and functions.

Why not `eval` of user text: anything reachable from an object (`().__class__.__bases__`)
leads back to the interpreter. Here the tree is checked before it is compiled: no attribute
access at all, no name outside the whitelist (so no builtins, no `__import__`, no `open`), no
comprehensions or lambdas (no loops), no f-strings (format specs can allocate without bound).
The operators that can grow a value (+, *, **, %) are rewritten into calls of checked
functions, so every evaluation is bounded in memory and time; the checked tree is then
compiled once and evaluated with empty builtins, which is what makes it fast enough to run per
value.
"""

import ast
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_CODE_CHARS = 2000
MAX_STRING_CHARS = 100_000
MAX_EXPONENT = 64
MAX_INT_BITS = 4096


class ExpressionError(Exception):
    """The expression cannot be accepted (at validation) or failed on a value (at run time);
    the message never contains a value."""


_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Subscript,
    ast.Slice,
    ast.Call,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.USub,
    ast.UAdd,
    ast.Not,
    ast.And,
    ast.Or,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
)

_REFUSED: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access (.name) is not allowed; use the functions instead",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.JoinedStr: "f-strings are not allowed; use + and str()",
    ast.NamedExpr: "assignment (:=) is not allowed",
    ast.Starred: "unpacking (*) is not allowed",
}

_VARIABLES = ("value", "row")


def _clip(text: str) -> str:
    if len(text) > MAX_STRING_CHARS:
        raise ExpressionError(f"a string would pass {MAX_STRING_CHARS} characters")
    return text


def _check_size(result: Any) -> Any:
    if isinstance(result, str | list | tuple) and len(result) > MAX_STRING_CHARS:
        raise ExpressionError(f"a value would pass {MAX_STRING_CHARS} characters or items")
    if isinstance(result, int) and result.bit_length() > MAX_INT_BITS:
        raise ExpressionError(f"an integer would pass {MAX_INT_BITS} bits")
    return result


def _add(a: Any, b: Any) -> Any:
    return _check_size(a + b)


def _mul(a: Any, b: Any) -> Any:
    # Checked before multiplying: "x" * 10**12 must fail, not allocate.
    for seq, times in ((a, b), (b, a)):
        if (
            isinstance(seq, str | list | tuple)
            and isinstance(times, int)
            and len(seq) * max(times, 0) > MAX_STRING_CHARS
        ):
            raise ExpressionError(f"a value would pass {MAX_STRING_CHARS} characters")
    return _check_size(a * b)


def _pow(a: Any, b: Any) -> Any:
    if isinstance(b, int | float) and abs(b) > MAX_EXPONENT:
        raise ExpressionError(f"exponents are limited to {MAX_EXPONENT}")
    return _check_size(a**b)


def _mod(a: Any, b: Any) -> Any:
    if isinstance(a, str):
        # printf-style formatting takes widths ("%099999999d") that allocate without bound.
        raise ExpressionError("% formatting of strings is not available; use + and str()")
    return a % b


_CHECKED_OPS: dict[type[ast.operator], str] = {
    ast.Add: "_add",
    ast.Mult: "_mul",
    ast.Pow: "_pow",
    ast.Mod: "_mod",
}


def _text(x: Any) -> str:
    return "" if x is None else str(x)


def _replace(s: Any, old: Any, new: Any) -> str:
    text, before, after = _text(s), _text(old), _text(new)
    grows = len(after) - len(before)
    if grows > 0 and len(text) + (len(text) + 1) * grows > MAX_STRING_CHARS:
        raise ExpressionError(f"replace would pass {MAX_STRING_CHARS} characters")
    return text.replace(before, after)


def _zfill(s: Any, width: int) -> str:
    if width > MAX_STRING_CHARS:
        raise ExpressionError(f"zfill is limited to {MAX_STRING_CHARS} characters")
    return _text(s).zfill(width)


def _join(sep: Any, items: Any) -> str:
    return _clip(_text(sep).join(_text(item) for item in items))


def _str(x: Any = "") -> str:
    return _clip(str(x))


def _coalesce(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _left(s: Any, n: int) -> str:
    return _text(s)[: max(n, 0)]


def _right(s: Any, n: int) -> str:
    return _text(s)[-n:] if n > 0 else ""


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "str": _str,
    "int": int,
    "float": float,
    "bool": bool,
    "len": len,
    "abs": abs,
    "min": min,
    "max": max,
    "round": round,
    "upper": lambda s: _text(s).upper(),
    "lower": lambda s: _text(s).lower(),
    "strip": lambda s: _text(s).strip(),
    "lstrip": lambda s: _text(s).lstrip(),
    "rstrip": lambda s: _text(s).rstrip(),
    "title": lambda s: _text(s).title(),
    "capitalize": lambda s: _text(s).capitalize(),
    "replace": _replace,
    "split": lambda s, sep=None: _text(s).split(sep),
    "join": _join,
    "startswith": lambda s, prefix: _text(s).startswith(prefix),
    "endswith": lambda s, suffix: _text(s).endswith(suffix),
    "contains": lambda s, part: part in _text(s),
    "zfill": _zfill,
    "left": _left,
    "right": _right,
    "coalesce": _coalesce,
}
# Bound per transformer: it needs the job's key.
KEYED_FUNCTIONS = ("hash",)


class _Rewrite(ast.NodeTransformer):
    """Growing operators become calls of their checked versions."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        checked = _CHECKED_OPS.get(type(node.op))
        if checked is None:
            return node
        call = ast.Call(ast.Name(checked, ast.Load()), [node.left, node.right], [])
        return ast.copy_location(call, node)


@dataclass(frozen=True)
class Expression:
    code: str
    # Columns read as row["name"]; None when `row` is used any other way (all columns then).
    row_columns: frozenset[str] | None
    _compiled: Any

    def evaluate(self, names: dict[str, Any]) -> Any:
        try:
            return eval(self._compiled, names)  # a whitelisted tree, empty builtins
        except ExpressionError:
            raise
        except RecursionError as err:
            raise ExpressionError("the expression nests too deeply") from err
        except Exception as err:
            # The type only: the message of int("...") quotes the value.
            raise ExpressionError(f"evaluation failed with {type(err).__name__}") from None


def compile_expression(code: str) -> Expression:
    """The checked, compiled expression; ExpressionError says what is not allowed."""
    if not code.strip():
        raise ExpressionError("is empty")
    if len(code) > MAX_CODE_CHARS:
        raise ExpressionError(f"is longer than {MAX_CODE_CHARS} characters")
    try:
        tree = ast.parse(code, mode="eval")
    except SyntaxError as err:
        raise ExpressionError(f"is not a valid expression: {err.msg}") from None
    except (ValueError, RecursionError, MemoryError) as err:
        raise ExpressionError(f"cannot be parsed: {type(err).__name__}") from None
    _check(tree)
    rewritten = ast.fix_missing_locations(_Rewrite().visit(tree))
    try:
        compiled = compile(rewritten, "<expression>", "eval")
    except (RecursionError, MemoryError) as err:
        raise ExpressionError(f"cannot be compiled: {type(err).__name__}") from None
    return Expression(code, _row_columns(tree), compiled)


def _check(tree: ast.AST) -> None:
    allowed_names = {*_VARIABLES, *FUNCTIONS, *KEYED_FUNCTIONS}
    nodes = list(ast.walk(tree))
    # Refused constructs first: `value.upper()` is about the attribute, not the call.
    for node in nodes:
        if type(node) in _REFUSED:
            raise ExpressionError(_REFUSED[type(node)])
    for node in nodes:
        if isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise ExpressionError(f"names starting with '_' ({node.id}) are not allowed")
            if node.id not in allowed_names:
                raise ExpressionError(
                    f"unknown name {node.id!r}; available: value, row and the functions "
                    + ", ".join(sorted([*FUNCTIONS, *KEYED_FUNCTIONS]))
                )
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id in _VARIABLES:
                raise ExpressionError("only the listed functions can be called, by name")
            if node.keywords:
                raise ExpressionError(f"{node.func.id}() takes no keyword arguments")
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, str | int | float | bool | type(None)):
                raise ExpressionError(f"{type(node.value).__name__} literals are not allowed")
            if isinstance(node.value, str) and node.value.startswith("__"):
                # Harmless without attribute access, but nothing legitimate needs it.
                raise ExpressionError("strings starting with '__' are not allowed")
        elif (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Pow)
            and isinstance(node.right, ast.Constant)
            and isinstance(node.right.value, int | float)
            and abs(node.right.value) > MAX_EXPONENT
        ):
            raise ExpressionError(f"exponents are limited to {MAX_EXPONENT}")
        elif not isinstance(node, _NODES):
            raise ExpressionError(f"{type(node).__name__} is not allowed")


def _row_columns(tree: ast.AST) -> frozenset[str] | None:
    """Columns the expression reads from `row`, when all are constant subscripts."""
    subscripted: list[ast.Name] = []
    columns = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == "row"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            subscripted.append(node.value)
            columns.add(node.slice.value)
    uses = sum(1 for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "row")
    return frozenset(columns) if uses == len(subscripted) else None


def keyed_functions(subkey: bytes) -> dict[str, Callable[..., Any]]:
    def keyed_hash(x: Any, length: int = 64) -> str:
        digest = hashlib.blake2b(_text(x).encode(), key=subkey, digest_size=32).hexdigest()
        return digest[: max(1, min(length, 64))]

    return {"hash": keyed_hash}


def namespace(subkey: bytes) -> dict[str, Any]:
    """Globals of an evaluation: the functions, and no builtins at all."""
    return {"__builtins__": {}, **FUNCTIONS, **keyed_functions(subkey), **_CHECKED}


_CHECKED: dict[str, Callable[..., Any]] = {"_add": _add, "_mul": _mul, "_pow": _pow, "_mod": _mod}
