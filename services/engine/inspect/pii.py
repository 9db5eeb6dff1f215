"""PII detection: which kind of personal data a column seems to hold, from its name, its type
family and a small sample of its values. Pure: the caller reads the sample.

A name rule alone is a fair hint ("email"); a value pattern alone is trusted only for kinds
whose values are unmistakable (an address with '@', a Luhn-valid 16-digit number). Values are
matched with RE2 over whole Arrow arrays, never one by one. What comes out is counts and
ratios: the sampled values are production data and never leave this module.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from services.engine.schema import TypeFamily
from services.engine.transformers import dictionaries
from services.engine.transformers.chars import to_bytes
from services.engine.transformers.identity import luhn_check_digit

SUGGEST_AT = 0.5  # the least confidence a suggestion needs
_VALUE_ONLY_RATIO = 0.8  # share of values that must match when the name says nothing
_AGREE_RATIO = 0.5  # share of values that confirms a name match
_CONTRADICT_MIN_VALUES = 5  # fewer sampled values cannot contradict a name


class PiiKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    SSN = "ssn"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    FULL_NAME = "full_name"
    STREET_ADDRESS = "street_address"
    CITY = "city"
    ZIPCODE = "zipcode"
    CARD_NUMBER = "card_number"
    IP_ADDRESS = "ip_address"
    BIRTH_DATE = "birth_date"


@dataclass(frozen=True)
class Detection:
    kind: PiiKind
    confidence: float
    name_match: bool
    values_sampled: int  # non-empty values looked at
    value_match_ratio: float  # 0 when no pattern applies or nothing was sampled


Matcher = Callable[[pa.Array], pa.Array]  # non-empty strings -> booleans


@dataclass(frozen=True)
class _Rule:
    kind: PiiKind
    name: re.Pattern[str]
    name_weight: float
    families: tuple[TypeFamily, ...]
    matcher: Matcher | None = None
    # Whether matching values alone (no name match) are evidence enough.
    value_only: bool = False
    # Whether values that do not match argue against the name; not for word lists, which
    # cannot hold every real name.
    contradicts: bool = True


def _regex(pattern: str) -> Matcher:
    return lambda values: pc.match_substring_regex(values, pattern)


def _in_words(words: Callable[[], pa.Array]) -> Matcher:
    def match(values: pa.Array) -> pa.Array:
        lowered = pc.utf8_lower(words())
        return pc.is_in(pc.utf8_lower(pc.utf8_trim_whitespace(values)), value_set=lowered)

    return match


def _full_names(values: pa.Array) -> pa.Array:
    shaped = pc.match_substring_regex(values, r"^[A-Z][a-zA-Z'.-]+( [A-Z][a-zA-Z'.-]+){1,3}$")
    first = pc.list_element(pc.split_pattern(pc.utf8_trim_whitespace(values), " "), 0)
    return pc.and_(shaped, _in_words(dictionaries.first_names)(first))


def luhn_valid(values: pa.Array) -> pa.Array:
    """Card-number shaped (13 to 19 digits, spaces or dashes allowed) with a valid Luhn check
    digit, computed over a digit matrix rather than per value."""
    digits = pc.replace_substring_regex(values, r"[ -]", "")
    shaped = pc.and_(
        pc.match_substring_regex(digits, r"^[0-9]{13,19}$"),
        # Runs of one digit ("0000000000000") pass Luhn but are placeholders, not cards.
        pc.invert(pc.match_substring_regex(digits, r"^(0+|1+|2+|3+|4+|5+|6+|7+|8+|9+)$")),
    )
    padded = pc.utf8_lpad(pc.if_else(shaped, digits, "0"), 19, "0")
    data, _ = to_bytes(padded)
    matrix = data.reshape(-1, 19).astype(np.int64) - ord("0")
    valid = luhn_check_digit(matrix[:, :-1]) == matrix[:, -1]
    return pc.and_(shaped, pa.array(valid))


def _name(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?:^|_)(?:{pattern})(?:$|_)")


_TEXT = (TypeFamily.TEXT,)
_IPV4 = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"

# In priority order: the first rule whose name pattern matches owns the column's name, so
# "email_address" is an email and never a street address.
RULES: tuple[_Rule, ...] = (
    _Rule(
        PiiKind.EMAIL,
        _name(r"e_?mail(?:_?addr(?:ess)?)?|mail"),
        0.8,
        _TEXT,
        _regex(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"),
        value_only=True,
    ),
    _Rule(
        PiiKind.IP_ADDRESS,
        _name(r"ip|ip_?addr(?:ess)?|ipv[46]|remote_?addr|client_?ip|last_?ip"),
        0.8,
        (TypeFamily.TEXT, TypeFamily.OTHER),
        _regex(
            rf"^({_IPV4}\.){{3}}{_IPV4}(/[0-9]+)?$|^[0-9a-fA-F:]*:[0-9a-fA-F:]*:[0-9a-fA-F.:]*$"
        ),
        value_only=True,
    ),
    _Rule(
        PiiKind.SSN,
        _name(r"ssn|social_?security(?:_?(?:number|no|num))?|national_?id|tax_?id"),
        0.8,
        _TEXT,
        _regex(r"^[0-9]{3}-?[0-9]{2}-?[0-9]{4}$"),
    ),
    _Rule(
        PiiKind.CARD_NUMBER,
        _name(r"card_?(?:number|no|num)|cc_?(?:number|num|no)|credit_?card(?:_?number)?|pan"),
        0.8,
        (TypeFamily.TEXT, TypeFamily.INTEGER, TypeFamily.NUMERIC),
        luhn_valid,
        value_only=True,
    ),
    _Rule(
        PiiKind.PHONE,
        _name(r"phone|mobile|cell(?:_?phone)?|tel|telephone|fax|msisdn"),
        0.8,
        (TypeFamily.TEXT, TypeFamily.INTEGER, TypeFamily.NUMERIC),
        _regex(
            r"^\+[1-9][0-9]{7,14}$"
            r"|^(\+?[0-9]{1,3}[ .-]?)?\(?[0-9]{3}\)?[ .-]?[0-9]{3}[ .-]?[0-9]{4}$"
        ),
    ),
    _Rule(
        PiiKind.FIRST_NAME,
        _name(r"first_?name|given_?name|fname|forename"),
        0.8,
        _TEXT,
        _in_words(dictionaries.first_names),
        contradicts=False,
    ),
    _Rule(
        PiiKind.LAST_NAME,
        _name(r"last_?name|surname|family_?name|lname"),
        0.8,
        _TEXT,
        _in_words(dictionaries.last_names),
        contradicts=False,
    ),
    _Rule(
        PiiKind.FULL_NAME,
        _name(r"full_?name|display_?name|contact_?name|customer_?name|person_?name"),
        0.75,
        _TEXT,
        _full_names,
        value_only=True,
        contradicts=False,
    ),
    _Rule(
        PiiKind.BIRTH_DATE,
        _name(r"dob|birth_?date|date_?of_?birth|birthday|born(?:_?on)?"),
        0.8,
        (TypeFamily.TEMPORAL, TypeFamily.TEXT),
    ),
    _Rule(
        PiiKind.ZIPCODE,
        _name(r"zip(?:_?code)?|postal_?code|post_?code|postcode"),
        0.75,
        _TEXT,
        _regex(r"^[0-9]{5}(-[0-9]{4})?$|^[A-Za-z0-9]{2,5} ?[A-Za-z0-9]{3}$"),
    ),
    _Rule(
        PiiKind.STREET_ADDRESS,
        _name(r"street(?:_?address)?|address(?:_?line)?(?:_?[12])?|addr(?:_?[12])?"),
        0.7,
        _TEXT,
        _regex(r"^[0-9]+[A-Za-z]?,? [A-Za-z0-9 .,'#-]+$"),
    ),
    _Rule(PiiKind.CITY, _name(r"city|town"), 0.7, _TEXT),
)


def normalize(column_name: str) -> str:
    """snake_case: "EmailAddress" and "email-address" both read "email_address"."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", column_name)
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def sample_strings(values: pa.Array | pa.ChunkedArray | None) -> pa.Array:
    """The sample as non-empty strings; types Arrow cannot cast to text give nothing."""
    if values is None:
        return pa.array([], pa.string())
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    try:
        text = values.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([], pa.string())
    text = pc.utf8_trim_whitespace(text.drop_null())
    kept = text.filter(pc.greater(pc.utf8_length(text), 0))
    return pa.concat_arrays([kept]) if len(kept) else pa.array([], pa.string())


def detect(
    column_name: str, family: TypeFamily, values: pa.Array | pa.ChunkedArray | None = None
) -> Detection | None:
    """The most likely kind of PII in a column, or None below SUGGEST_AT."""
    name = normalize(column_name)
    sample = sample_strings(values)
    found: list[Detection] = []
    named = next((rule for rule in RULES if rule.name.search(name)), None)
    for rule in RULES:
        if family not in rule.families:
            continue
        is_named = rule is named
        if not is_named and not rule.value_only:
            continue
        ratio = _ratio(rule, sample)
        confidence = _confidence(rule, is_named, len(sample), ratio)
        if confidence >= SUGGEST_AT:
            found.append(Detection(rule.kind, round(confidence, 3), is_named, len(sample), ratio))
    return max(found, key=lambda d: d.confidence, default=None)


def _ratio(rule: _Rule, sample: pa.Array) -> float:
    if rule.matcher is None or len(sample) == 0:
        return 0.0
    matched = pc.sum(rule.matcher(sample).fill_null(False)).as_py() or 0
    return round(matched / len(sample), 3)


def _confidence(rule: _Rule, named: bool, sampled: int, ratio: float) -> float:
    checkable = rule.matcher is not None and sampled > 0
    if named:
        if not checkable:
            return rule.name_weight
        if ratio >= _AGREE_RATIO:
            return min(1.0, 0.9 + 0.1 * ratio)
        if rule.contradicts and sampled >= _CONTRADICT_MIN_VALUES:
            # The values say otherwise: a "phone" column of free text is not worth a guess.
            return rule.name_weight * (0.4 + ratio)
        return rule.name_weight
    if checkable and ratio >= _VALUE_ONLY_RATIO:
        return 0.5 + 0.4 * ratio
    return 0.0
