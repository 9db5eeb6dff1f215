"""What a table's CHECK constraints (and its domains' checks) say about single columns, read
from the definitions PostgreSQL prints: the values an IN list allows, the bounds a number must
keep, and which date must come after which. A generator that keeps to them writes rows the
constraint accepts; what is not understood is left alone (the generator's own range stands).
Pure."""

import math
import re
from dataclasses import dataclass, field

from services.common.errors import InvalidArgumentError
from services.engine.generate.defaults import check_generator
from services.engine.schema import Column, Table
from services.engine.transformers import ColumnBounds
from veilsync.v1 import transformer_pb2 as t

_COLUMN = r"\(?\"?(?P<col>[A-Za-z_][\w$]*)\"?\)?(?:::[a-z ]+(?:\[\])?)?"
_NUMBER = r"\(?\s*'?(?P<num>-?\d+(?:\.\d+)?)'?\s*\)?(?:::[a-z ]+)?"
# PostgreSQL prints `x IN ('a', 'b')` as `x = ANY (ARRAY['a'::text, 'b'::text])` and NOT IN as
# `<> ALL (...)`, which this does not match.
_ANY = re.compile(_COLUMN + r"\s*=\s*ANY\s*\(+\s*ARRAY\s*\[(?P<items>[^\]]*)\]", re.I)
_IN = re.compile(r"(?<![\w)])" + _COLUMN + r"\s+IN\s*\((?P<items>[^)]*)\)", re.I)
_LITERAL = re.compile(r"'((?:[^']|'')*)'")
_COMPARE = re.compile(_COLUMN + r"\s*(?P<op>>=|<=|>|<)\s*" + _NUMBER, re.I)
_BETWEEN = re.compile(
    _COLUMN + r"\s+BETWEEN\s+(?P<low>-?\d+(?:\.\d+)?)\s+AND\s+(?P<high>-?\d+(?:\.\d+)?)", re.I
)
_ORDER = re.compile(
    r"\(?\"?(?P<a>[A-Za-z_][\w$]*)\"?\)?\s*(?P<op>>=|<=|>|<)\s*\(?\"?(?P<b>[A-Za-z_][\w$]*)\"?\)?"
)


@dataclass
class Bounds:
    """A number's limits; strict ones exclude the value itself."""

    low: float | None = None
    low_strict: bool = False
    high: float | None = None
    high_strict: bool = False

    def keep(self, op: str, value: float) -> None:
        if op in (">", ">=") and (self.low is None or value >= self.low):
            self.low, self.low_strict = value, op == ">"
        elif op in ("<", "<=") and (self.high is None or value <= self.high):
            self.high, self.high_strict = value, op == "<"


@dataclass
class Checked:
    """What one column's checks allow."""

    categories: tuple[str, ...] = ()
    bounds: Bounds = field(default_factory=Bounds)


@dataclass(frozen=True)
class Order:
    """`later` must be after `earlier` (or equal, where not strict) in every row."""

    earlier: str
    later: str
    strict: bool


def column_checks(table: Table) -> dict[str, Checked]:
    """By column name, for the columns a check (or their domain's) constrains alone."""
    found: dict[str, Checked] = {}
    names = {c.name for c in table.columns}
    for check in table.checks:
        _read(check.definition, names, found)
    for column in table.columns:
        for domain_check in _domain_checks(table, column):
            _read(domain_check, {"VALUE"}, found, column.name)
    return found


def within(config: t.TransformerConfig, bounds: Bounds, column: Column) -> t.TransformerConfig:
    """A number generator's range narrowed to the check's bounds (the check's own range where
    the two do not meet); any other generator, or one the column would refuse, unchanged."""
    kind = config.WhichOneof("config")
    if kind not in ("generate_int64", "generate_float64") or bounds == Bounds():
        return config
    options = getattr(config, kind)
    wide = (0, 1_000_000) if kind == "generate_int64" else (0.0, 1000.0)
    low, high = (options.min, options.max) if options.min or options.max else wide
    checked_low, checked_high = _limits(bounds, kind == "generate_int64", column)
    new_low = low if checked_low is None else max(low, checked_low)
    new_high = high if checked_high is None else min(high, checked_high)
    if new_low > new_high:  # the plausible range misses what the check allows: keep its width
        span = high - low
        if checked_low is not None and checked_high is not None:
            new_low, new_high = checked_low, checked_high
        elif checked_low is not None:
            new_low, new_high = checked_low, checked_low + span
        elif checked_high is not None:
            new_low, new_high = checked_high - span, checked_high
    if new_low > new_high:
        return config
    narrowed = t.TransformerConfig()
    narrowed.CopyFrom(config)
    if new_low == new_high == 0:  # a 0-to-0 range reads as "the default range"
        return t.TransformerConfig(generate_categorical=t.GenerateCategorical(categories=["0"]))
    getattr(narrowed, kind).min, getattr(narrowed, kind).max = new_low, new_high
    try:
        check_generator(narrowed, column, False, column.name)
    except InvalidArgumentError:
        return config
    return narrowed


def _limits(bounds: Bounds, integer: bool, column: Column) -> tuple[float | None, float | None]:
    """Inclusive limits: a strict one moved by the smallest step the written value keeps (a
    whole number, or a hundredth where the column keeps two places or more)."""
    scale = ColumnBounds.of(column.data_type).scale
    step = 1.0 if integer else 10.0 ** -min(2 if scale is None else scale, 2)
    low, high = bounds.low, bounds.high
    if low is not None:
        low = low + step if bounds.low_strict else low
        low = math.ceil(low) if integer else low
    if high is not None:
        high = high - step if bounds.high_strict else high
        high = math.floor(high) if integer else high
    return low, high


def date_orders(table: Table) -> list[Order]:
    """Pairs of columns a check compares with each other (`hire_date > birth_date`)."""
    names = {c.name for c in table.columns}
    orders = []
    for check in table.checks:
        for match in _ORDER.finditer(check.definition):
            a, b, op = match.group("a"), match.group("b"), match.group("op")
            if a in names and b in names and a != b:
                earlier, later = (b, a) if op.startswith(">") else (a, b)
                orders.append(Order(earlier, later, len(op) == 1))
    return orders


def _domain_checks(table: Table, column: Column) -> list[str]:
    spelled = column.data_type.split(".")[-1].strip('"')
    return [
        c.definition
        for t in table.user_types
        if t.kind == "domain" and t.name == spelled
        for c in t.checks
    ]


def _read(
    definition: str, names: set[str], found: dict[str, Checked], column: str | None = None
) -> None:
    """Facts about `names` into `found`, under `column` where given (a domain's VALUE)."""

    def slot(name: str) -> Checked | None:
        return found.setdefault(column or name, Checked()) if name in names else None

    for pattern in (_ANY, _IN):
        for match in pattern.finditer(definition):
            checked = slot(match.group("col"))
            if checked is not None and not _negated(definition, match.start()):
                items = tuple(v.replace("''", "'") for v in _LITERAL.findall(match["items"]))
                # Two IN lists on one column: only values both allow are safe.
                kept = [v for v in items if not checked.categories or v in checked.categories]
                checked.categories = tuple(kept)
    for match in _COMPARE.finditer(definition):
        checked = slot(match.group("col"))
        if checked is not None:
            checked.bounds.keep(match.group("op"), float(match.group("num")))
    for match in _BETWEEN.finditer(definition):
        checked = slot(match.group("col"))
        if checked is not None:
            checked.bounds.keep(">=", float(match.group("low")))
            checked.bounds.keep("<=", float(match.group("high")))


def _negated(definition: str, at: int) -> bool:
    return definition[:at].rstrip().upper().endswith("NOT")
