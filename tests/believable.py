"""Format checks a person would make of generated rows, one per meaning; the unit tests run them
on generated batches, the integration tests on what a database holds."""

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from services.engine.transformers import dictionaries

EMAIL = re.compile(r"^[a-z0-9]+(\.[a-z0-9]+)*@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")
NAME = re.compile(r"^[A-Z][A-Za-z]+$")
CITY = re.compile(r"^[A-Z][A-Za-z]+( [A-Z][A-Za-z]+)*$")
STREET = re.compile(r"^[1-9][0-9]* [A-Z][A-Za-z]+ [A-Z][A-Za-z]+$")
E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
ZIP = re.compile(r"^[0-9]{5}$")
HEX = re.compile(r"^[0-9a-f]{8,}$")


def countries() -> set[str]:
    return {str(c) for c in dictionaries.countries().to_pylist()}


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def years_before(day: date, years: int) -> date:
    return day.replace(year=day.year - years, day=min(day.day, 28))


def person_checks(today: date) -> dict[str, Callable[[Mapping[str, Any]], bool]]:
    """By column name: whether a row's value (or values) pass that column's check."""
    known = countries()
    return {
        "first_name": lambda r: bool(NAME.match(r["first_name"])),
        "last_name": lambda r: bool(NAME.match(r["last_name"])),
        "email": lambda r: bool(EMAIL.match(r["email"])),
        "phone": lambda r: bool(E164.match(r["phone"])),
        "country": lambda r: r["country"] in known,
        "city": lambda r: bool(CITY.match(r["city"])),
        "postal_code": lambda r: bool(ZIP.match(r["postal_code"])),
        "address": lambda r: bool(STREET.match(r["address"])),
        "birth_date": lambda r: (
            years_before(today, 91) <= _day(r["birth_date"]) <= years_before(today, 18)
        ),
        "hire_date": lambda r: _day(r["birth_date"]) < _day(r["hire_date"]) <= today,
        "created_at": lambda r: _day(r["created_at"]) <= today,
        "updated_at": lambda r: (
            r["created_at"] <= r["updated_at"] and _day(r["updated_at"]) <= today
        ),
        "salary": lambda r: (
            Decimal(25_000) <= Decimal(str(r["salary"])) <= Decimal(200_000)
            and Decimal(str(r["salary"])).as_tuple().exponent == -2
        ),
    }


def failures(rows: Iterable[Mapping[str, Any]], today: date) -> dict[str, int]:
    """Rows failing each check of the columns the rows have; empty when all pass."""
    found: dict[str, int] = {}
    checks = person_checks(today)
    for row in rows:
        for name, check in checks.items():
            if name in row and row[name] is not None and not check(row):
                found[name] = found.get(name, 0) + 1
    return found
