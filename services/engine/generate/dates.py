"""Dates a person would believe: each date or timestamp column's range read from its name
(birth dates 18 to 90 years ago, hire and creation dates in the past, expiry dates ahead), and
the order of a row's dates where their names imply one (born before hired, created before
updated, a start before its end). Pure: "now" is the caller's, fixed once per plan."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from services.engine.generate.checks import Order
from services.engine.inspect.pii import PiiKind, detect, normalize
from services.engine.schema import Column, TypeFamily
from veilsync.v1 import transformer_pb2 as t

DAY = 86_400
YEAR = 31_556_952  # the Gregorian mean year


class When(StrEnum):
    BIRTH = "birth"
    HIRE = "hire"
    CREATED = "created"
    UPDATED = "updated"
    START = "start"
    END = "end"
    FUTURE = "future"
    PAST = "past"  # any other date: the recent past


def _name(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?:^|_)(?:{pattern})(?:$|_)")


# In priority order, on snake_case names (pii.normalize); birth dates are the detector's.
_RULES: tuple[tuple[When, re.Pattern[str]], ...] = (
    (When.HIRE, _name(r"hire|hired|hiring|joined|employed|employment_?start|onboarded")),
    (
        When.CREATED,
        _name(
            r"create|created|creation|inserted|registered|signed_?up|signup|added|opened|placed"
            r"|ordered|issued|published|posted|enrolled"
        ),
    ),
    (
        When.UPDATED,
        _name(
            r"update|updated|modified|changed|edited|touched"
            r"|last_?(?:update|updated|modified|seen|login|activity)"
        ),
    ),
    (
        When.FUTURE,
        _name(r"expires|expiry|expiration|expire|due|deadline|next|renews|renewal|scheduled"),
    ),
    (
        When.START,
        _name(
            r"start|starts|started|begin|begins|began|from|rental|check_?in|depart|departs"
            r"|departure|effective"
        ),
    ),
    (
        When.END,
        _name(
            r"end|ends|ended|finish|finished|stop|stopped|until|to|return|returned|check_?out"
            r"|arrival|arrive|arrives|arrived|completed|closed|through|thru"
        ),
    ),
)


@dataclass(frozen=True)
class Follows:
    """A date drawn after another of its row: `min_gap` to `max_gap` seconds after it, and no
    later than `latest` where that is set (the gap shrinks, never below min_gap)."""

    after: str
    min_gap: int
    max_gap: int
    latest: int | None


# (later, earlier, min gap, max gap, whether the later date stays in the past)
_ORDERS: tuple[tuple[When, When, int, int, bool], ...] = (
    (When.HIRE, When.BIRTH, 18 * YEAR, 70 * YEAR, True),
    (When.UPDATED, When.CREATED, 0, 10 * YEAR, True),
    # A day at least, so a start and its end stay apart in a date column too.
    (When.END, When.START, DAY, 30 * DAY, False),
)


def is_date(column: Column) -> bool:
    """A date or a point in time; time-of-day and interval types are not."""
    spelled = column.data_type.strip().lower()
    return column.family == TypeFamily.TEMPORAL and spelled.startswith(
        ("date", "timestamp", "smalldatetime")
    )


def when(column: Column) -> tuple[When, str]:
    """What a date column's name says it is, and its stem: the name without that word
    ("start_date" and "end_date" share "_date"), which pairs a start with its end."""
    name = normalize(column.name)
    found = detect(column.name, column.family)
    if found is not None and found.kind == PiiKind.BIRTH_DATE:
        return When.BIRTH, name
    for role, rule in _RULES:
        match = rule.search(name)
        if match is not None:
            return role, rule.sub("_", name, count=1)
    return When.PAST, name


def last_second(now: int) -> int:
    """The end of the day before `now` (UTC): a date no later than it is in the past in every
    time zone, and the plan's dates stay the same all day."""
    return now // DAY * DAY - 1


def date_range(role: When, latest: int) -> tuple[int, int]:
    """Seconds since 1970 a date of this role is drawn from, given the latest past second."""
    if role is When.BIRTH:
        return latest - 90 * YEAR, latest - 18 * YEAR
    if role is When.HIRE:
        return latest - 30 * YEAR, latest
    if role is When.FUTURE:
        return latest + 1, latest + 5 * YEAR
    return latest - 10 * YEAR, latest


def plan_dates(
    columns: Sequence[Column], now: int, orders: Sequence[Order] = ()
) -> dict[str, t.TransformerConfig | Follows]:
    """How each of `columns` (date columns a plan may choose for) is made: a range, or after
    another of them, as their names or a check (`orders`) say. An earlier date whose follower
    stays in the past ends early enough to leave it room."""
    latest = last_second(now)
    roles = {c.name: when(c) for c in columns}
    follows: dict[str, Follows] = {}
    for column in columns:
        follow = _follow(column.name, roles, orders, latest)
        # A check may contradict the names (or itself): an order that would loop is dropped.
        if follow is not None and not _reaches(follows, follow.after, column.name):
            follows[column.name] = follow
    planned: dict[str, t.TransformerConfig | Follows] = {}
    for column in columns:
        if column.name in follows:
            planned[column.name] = follows[column.name]
            continue
        low, high = date_range(roles[column.name][0], latest)
        high = max(low, min(high, latest - _headroom(follows, column.name)))
        planned[column.name] = t.TransformerConfig(
            generate_utctimestamp=t.GenerateUtcTimestamp(min=low, max=high)
        )
    return planned


def _follow(
    name: str, roles: dict[str, tuple[When, str]], orders: Sequence[Order], latest: int
) -> Follows | None:
    role, stem = roles[name]
    rule = next((o for o in _ORDERS if o[0] is role), None)
    by_name = None if rule is None else _earlier(roles, rule[1], stem)
    checked = next((o for o in orders if o.later == name and o.earlier in roles), None)
    strict_gap = DAY if checked is not None and checked.strict else 0
    if checked is not None and checked.earlier != by_name:
        return Follows(checked.earlier, strict_gap, strict_gap + 30 * DAY, None)
    if rule is None or by_name is None:
        return None
    # A day apart at least where a check wants them apart: a date column keeps no hours.
    low = max(rule[2], strict_gap)
    return Follows(by_name, low, max(rule[3], low), latest if rule[4] else None)


def _reaches(follows: dict[str, Follows], start: str, target: str) -> bool:
    """Whether `start` is `target` or follows it, through any chain."""
    seen = set()
    while start not in seen:
        if start == target:
            return True
        seen.add(start)
        follow = follows.get(start)
        if follow is None:
            return False
        start = follow.after
    return False


def _headroom(follows: dict[str, Follows], name: str) -> int:
    """Seconds the dates that follow `name` and must stay in the past need after it."""
    return max(
        (
            f.min_gap + _headroom(follows, later)
            for later, f in follows.items()
            if f.after == name and f.latest is not None
        ),
        default=0,
    )


def _earlier(roles: dict[str, tuple[When, str]], role: When, stem: str) -> str | None:
    """The column a date of `stem` follows: one of `role` with the same stem, else the only
    one of that role (a birth date has no stem in common with a hire date)."""
    candidates = [name for name, (r, _) in roles.items() if r is role]
    same_stem = [name for name in candidates if roles[name][1] == stem]
    if same_stem:
        return same_stem[0]
    return candidates[0] if len(candidates) == 1 else None
