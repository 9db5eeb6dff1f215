"""Cron schedules as a job states them, checked before Temporal ever sees them."""

import re

from services.common.errors import InvalidArgumentError

# One cron field: *, numbers, names (JAN, MON), ranges, lists and steps.
_ITEM = r"(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?"
_FIELD = re.compile(rf"{_ITEM}(,{_ITEM})*|\?")
_EVERY = re.compile(r"@every [0-9]+(ms|s|m|h)([0-9]+(ms|s|m|h))*")
_NAMED = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
MAX_CHARS = 200


def check_schedule(schedule: str, field: str = "schedule") -> str:
    """Empty (no schedule), a named or @every schedule, or 5 to 7 cron fields (Temporal's
    forms: minute..weekday, then a year; or a leading second field with the year)."""
    if not schedule:
        return schedule
    if len(schedule) > MAX_CHARS:
        raise InvalidArgumentError(field, f"at most {MAX_CHARS} characters")
    text = schedule.strip()
    if text in _NAMED or _EVERY.fullmatch(text):
        return schedule
    fields = text.split()
    if not 5 <= len(fields) <= 7 or not all(_FIELD.fullmatch(f) for f in fields):
        raise InvalidArgumentError(
            field, 'not a cron schedule: use 5 to 7 fields ("0 3 * * *") or "@every 1h"'
        )
    return schedule
