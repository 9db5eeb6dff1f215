"""What a subset where-clause may contain, by engine: the nodes sqlglot parses columns,
literals and operators to, and an allowlist of functions that are cheap, side-effect free and
run on the engine as sqlglot writes them back."""

from sqlglot import exp

# Columns, literals and operators.
OPERATORS: frozenset[type[exp.Expr]] = frozenset(
    {
        exp.Column, exp.Identifier, exp.Literal, exp.Null, exp.Boolean, exp.Var,
        exp.Paren, exp.Tuple, exp.Interval, exp.DataType, exp.DataTypeParam,
        exp.And, exp.Or, exp.Not,
        exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ,
        exp.Is, exp.In, exp.Between, exp.Like, exp.ILike, exp.Escape,
        exp.Neg, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.DPipe,
        exp.BitwiseAnd, exp.BitwiseOr, exp.BitwiseXor, exp.BitwiseNot, exp.AtTimeZone,
    }
)  # fmt: skip

# Functions, by the node sqlglot parses them to, with the names users write for them. Left
# out on purpose: anything whose cost grows with an argument rather than with the row (repeat,
# lpad/rpad, power, replace and regexp_replace, which nest into exponential growth), regular
# expressions (backtracking), random values and sequences (a run evaluates a clause more than
# once and must keep the same rows each time), aggregates and windows, and whatever reads the
# session, the catalog or files. The current date and time are in: "the last 30 days" is the
# commonest subset there is. Each name is one the engine runs as sqlglot writes it back
# (tests/integration/test_where_engines.py runs every one).
_EVERYWHERE: dict[type[exp.Func], tuple[str, ...]] = {
    # conditionals and NULL handling
    exp.Case: ("case",),
    exp.If: ("if", "iif"),
    exp.Coalesce: ("coalesce", "ifnull"),
    exp.Nullif: ("nullif",),
    exp.Greatest: ("greatest",),
    exp.Least: ("least",),
    exp.Cast: ("cast",),
    # text
    exp.Lower: ("lower",),
    exp.Upper: ("upper",),
    exp.Length: ("length", "char_length"),
    exp.Substring: ("substring", "substr"),
    exp.Trim: ("trim", "ltrim", "rtrim"),
    exp.StrPosition: ("position", "strpos", "instr"),
    # numbers
    exp.Abs: ("abs",),
    exp.Round: ("round",),
    exp.Floor: ("floor",),
    exp.Ceil: ("ceil", "ceiling"),
    exp.Sign: ("sign",),
    exp.Trunc: ("trunc",),
    # dates and times
    exp.CurrentDate: ("current_date",),
    exp.CurrentTimestamp: ("current_timestamp",),
    exp.Date: ("date",),
    exp.TsOrDsToDate: ("date",),
    exp.DateAdd: ("date_add",),
    exp.DateSub: ("date_sub",),
    exp.DateDiff: ("datediff",),
}

# What only some engines have, or only spell so.
_BY_ENGINE: dict[str, dict[type[exp.Func], tuple[str, ...]]] = {
    "postgres": {
        exp.Concat: ("concat",),
        exp.ConcatWs: ("concat_ws",),
        exp.Left: ("left",),
        exp.Right: ("right",),
        exp.Initcap: ("initcap",),
        exp.Trim: ("btrim",),
        exp.Extract: ("extract", "date_part"),
        exp.TimestampTrunc: ("date_trunc",),
        exp.Year: ("year",),
        exp.Month: ("month",),
        exp.Day: ("day",),
        exp.CurrentTimestamp: ("now",),
        exp.TimeToStr: ("to_char",),
        exp.StrToDate: ("to_date", "str_to_date"),
    },
    "mysql": {
        exp.Concat: ("concat",),
        exp.ConcatWs: ("concat_ws",),
        exp.Left: ("left",),
        exp.Right: ("right",),
        exp.Extract: ("extract",),
        exp.DateTrunc: ("date_trunc",),
        exp.Year: ("year",),
        exp.Month: ("month",),
        exp.Day: ("day",),
        exp.CurrentDate: ("curdate",),
        exp.TimeToStr: ("date_format",),
        exp.TsOrDsToTimestamp: (),  # inside date_format
        exp.StrToDate: ("str_to_date",),
    },
    "sqlite": {
        exp.TimeToStr: ("strftime",),
        exp.TsOrDsToTimestamp: (),  # inside strftime
    },
}

# Functions an engine's dialect of sqlglot leaves unparsed (exp.Anonymous).
_NAMED_FUNCTIONS: dict[str, frozenset[str]] = {
    "postgres": frozenset(),
    "mysql": frozenset({"now"}),
    "sqlite": frozenset({"datetime", "julianday", "unixepoch"}),
}


def _functions(engine: str) -> dict[type[exp.Func], tuple[str, ...]]:
    merged = dict(_EVERYWHERE)
    for kind, names in _BY_ENGINE[engine].items():
        merged[kind] = (*merged.get(kind, ()), *names)
    return merged


_ALLOWED = {engine: _functions(engine) for engine in _NAMED_FUNCTIONS}


def allowed_functions(engine: str) -> list[str]:
    """The function names a where-clause on `engine` may call, sorted."""
    names = {name for names in _ALLOWED[engine].values() for name in names}
    return sorted(names | _NAMED_FUNCTIONS[engine])


def allows_function(kind: type[exp.Expr], engine: str) -> bool:
    return kind in _ALLOWED[engine]


def allows_named_function(name: str, engine: str) -> bool:
    """Whether a function sqlglot leaves unparsed on `engine` may be called by its name."""
    return name.lower() in _NAMED_FUNCTIONS[engine]
