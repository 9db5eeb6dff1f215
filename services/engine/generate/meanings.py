"""What a column holds, read from its name and type, and the generator that makes believable
values of it: the personal kinds come from the detector `jobs suggest` uses (inspect/pii.py),
the rest (countries, companies, money, ages) from name rules here, which a privacy verdict has
no use for. Dates are dates.py's. Pure."""

import math
import re
from enum import StrEnum

import pyarrow as pa
import pyarrow.compute as pc

from services.common.errors import InvalidArgumentError
from services.engine.generate.defaults import check_generator
from services.engine.inspect.pii import PiiKind, detect, normalize
from services.engine.schema import Column, TypeFamily
from services.engine.transformers import ColumnBounds, dictionaries
from services.engine.transformers.email import SHORTEST as SHORTEST_EMAIL
from veilsync.v1 import transformer_pb2 as t

Config = t.TransformerConfig


class Extra(StrEnum):
    """Meanings the PII detector does not look for."""

    COUNTRY = "country"
    COMPANY = "company"
    USERNAME = "username"
    GENDER = "gender"
    SALARY = "salary"
    MONEY = "money"
    AGE = "age"
    QUANTITY = "quantity"


Meaning = PiiKind | Extra

_TEXT = (TypeFamily.TEXT,)
_NUMBER = (TypeFamily.INTEGER, TypeFamily.NUMERIC)


def _name(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?:^|_)(?:{pattern})(?:$|_)")


# In priority order, on snake_case names (pii.normalize), like the detector's own rules.
_RULES: tuple[tuple[Extra, re.Pattern[str], tuple[TypeFamily, ...]], ...] = (
    (Extra.COUNTRY, _name(r"country(?:_?(?:name|code|iso))?|iso_?country|nation"), _TEXT),
    (
        Extra.COMPANY,
        _name(r"company(?:_?name)?|employer|business_?name|organi[sz]ation(?:_?name)?"),
        _TEXT,
    ),
    (Extra.USERNAME, _name(r"user_?name|login|screen_?name|handle|nick_?name"), _TEXT),
    (Extra.GENDER, _name(r"gender|sex"), _TEXT),
    (Extra.SALARY, _name(r"salary|salaries|wage|wages|income|compensation"), _NUMBER),
    (
        Extra.MONEY,
        _name(
            r"price|cost|amount|amt|fee|fees|total|subtotal|balance|payment|charge|fare|paid"
            r"|spend|spent|revenue|budget"
        ),
        _NUMBER,
    ),
    (Extra.AGE, _name(r"age"), (TypeFamily.INTEGER,)),
    (Extra.QUANTITY, _name(r"quantity|qty|units"), (TypeFamily.INTEGER,)),
)

# Plausible ranges where nothing better is known (a source's statistics would be).
SALARY_RANGE = (25_000.0, 200_000.0)
MONEY_RANGE = (1.0, 200.0)
AGE_RANGE = (18, 90)
QUANTITY_RANGE = (1, 10)
MONEY_PLACES = 2  # for numeric columns that set no scale (float, double, plain numeric)


def meaning(column: Column) -> Meaning | None:
    """The column's kind, by name and type family; None where nothing reads as one. Enum
    columns keep their labels, whatever they are called."""
    if column.enum_labels:
        return None
    found = detect(column.name, column.family)
    if found is not None:
        return found.kind
    name = normalize(column.name)
    return next(
        (
            kind
            for kind, rule, families in _RULES
            if column.family in families and rule.search(name)
        ),
        None,
    )


def generator_for(kind: Meaning, column: Column) -> Config | None:
    """A generator making believable values of `kind` that fit the column whole (type, length,
    range), or None: the caller's default then stands."""
    config = _config(kind, column)
    if config is None:
        return None
    try:
        check_generator(config, column, False, column.name)
    except InvalidArgumentError:
        return None
    return config


def _config(kind: Meaning, column: Column) -> Config | None:
    room = column.max_length or 1_000_000
    integer = column.family == TypeFamily.INTEGER
    match kind:
        case PiiKind.EMAIL if room >= SHORTEST_EMAIL:
            return Config(generate_email=t.GenerateEmail())
        case PiiKind.PHONE if column.family in _NUMBER:
            return Config(generate_int64_phone_number=t.GenerateInt64PhoneNumber())
        case PiiKind.PHONE if room >= 12:  # +, country code and ten digits
            return Config(generate_e164_phone_number=t.GenerateE164PhoneNumber(min=11, max=11))
        case PiiKind.PHONE if room >= 10:
            return Config(generate_string_phone_number=t.GenerateStringPhoneNumber(min=10, max=10))
        case PiiKind.SSN if room >= 11:
            return Config(generate_ssn=t.GenerateSsn())
        case PiiKind.FIRST_NAME:
            return Config(generate_first_name=t.GenerateFirstName())
        case PiiKind.LAST_NAME:
            return Config(generate_last_name=t.GenerateLastName())
        case PiiKind.FULL_NAME:
            return Config(generate_full_name=t.GenerateFullName())
        case PiiKind.STREET_ADDRESS:
            return Config(generate_street_address=t.GenerateStreetAddress())
        case PiiKind.CITY:
            return Config(generate_city=t.GenerateCity())
        case PiiKind.ZIPCODE if room >= 5:
            return Config(generate_zipcode=t.GenerateZipcode())
        case PiiKind.CARD_NUMBER if room >= 16:
            return Config(generate_card_number=t.GenerateCardNumber(valid_luhn=True))
        case PiiKind.IP_ADDRESS if room >= 15:
            return Config(generate_ip_address=t.GenerateIpAddress())
        case Extra.COUNTRY:
            return _country(column, room)
        case Extra.COMPANY:
            return Config(generate_business_name=t.GenerateBusinessName())
        case Extra.USERNAME:
            return Config(generate_username=t.GenerateUsername())
        case Extra.GENDER:
            # "non-binary" is the longest word; a shorter column gets f, m, n, u.
            return Config(generate_gender=t.GenerateGender(abbreviate=room < 10))
        case Extra.SALARY:
            return _amount(column, SALARY_RANGE)
        case Extra.MONEY:
            return _amount(column, MONEY_RANGE)
        case Extra.AGE if integer:
            return Config(generate_int64=t.GenerateInt64(min=AGE_RANGE[0], max=AGE_RANGE[1]))
        case Extra.QUANTITY if integer:
            low, high = QUANTITY_RANGE
            return Config(generate_int64=t.GenerateInt64(min=low, max=high))
    return None


def _country(column: Column, room: int) -> Config | None:
    """Country names where the column holds them, ISO codes where it is named or sized for a
    code; a name cut short would be no country at all, so only names that fit are drawn."""
    if "code" in normalize(column.name) or "iso" in normalize(column.name) or room <= 3:
        return Config(generate_country=t.GenerateCountry()) if room >= 2 else None
    names = dictionaries.countries()
    if room >= pc.max(pc.utf8_length(names)).as_py():
        return Config(generate_country=t.GenerateCountry(generate_full_name=True))
    fitting = names.filter(pc.less_equal(pc.utf8_length(names), room))
    return Config(generate_categorical=t.GenerateCategorical(categories=_strings(fitting)))


def _strings(values: pa.Array) -> list[str]:
    return [str(v) for v in values.to_pylist()]


def _amount(column: Column, wanted: tuple[float, float]) -> Config | None:
    """Amounts in `wanted`, narrowed to the whole numbers the column holds, with its scale (two
    places where it sets none)."""
    bounds = ColumnBounds.of(column.data_type, column.max_length)
    whole = bounds.integer_range()
    low, high = wanted
    if whole is not None and whole[1] < high:
        if whole[1] < 1:  # numeric(p, p): the default's 0 is all there is
            return None
        low, high = min(low, whole[1] / 10), float(whole[1])
    return ranged(column, low, high, MONEY_PLACES)


def ranged(column: Column, low: float, high: float, places: int | None = None) -> Config | None:
    """Numbers from `low` to `high` the column holds whole (its scale, else `places` decimals
    where given), or None where it cannot."""
    if column.family == TypeFamily.INTEGER:
        low, high = math.ceil(low), math.floor(high)
    if low == high == 0:  # a 0-to-0 range would read as the generator's default range
        return Config(generate_categorical=t.GenerateCategorical(categories=["0"]))
    if column.family == TypeFamily.INTEGER:
        config = Config(generate_int64=t.GenerateInt64(min=int(low), max=int(high)))
    else:
        numbers = t.GenerateFloat64(min=low, max=high)
        if places is not None and ColumnBounds.of(column.data_type).scale is None:
            numbers.precision = places
        config = Config(generate_float64=numbers)
    try:
        check_generator(config, column, False, column.name)
    except InvalidArgumentError:
        return None
    return config
