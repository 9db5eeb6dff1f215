"""Word lists the generators draw from, built once per process from Faker's data files (Faker
itself is never called per value)."""

from functools import cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from faker.providers.address.en_US import Provider as AddressProvider
from faker.providers.company.en_US import Provider as CompanyProvider
from faker.providers.person.en_US import Provider as PersonProvider

# RFC 2606 domains: never delivered, so an anonymized address can never reach a person.
SAFE_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
GENDERS = ("female", "male", "non-binary", "unknown")


def _words(items: object) -> pa.Array:
    return pa.array(sorted(set(items)), pa.string())  # type: ignore[call-overload]


@cache
def first_names() -> pa.Array:
    return _words(PersonProvider.first_names)


@cache
def last_names() -> pa.Array:
    return _words(PersonProvider.last_names)


@cache
def safe_email_domains() -> pa.Array:
    return pa.array(SAFE_EMAIL_DOMAINS, pa.string())


@cache
def states() -> pa.Array:
    return pa.array(AddressProvider.states, pa.string())


@cache
def state_codes() -> pa.Array:
    # Drawn independently of states(): Faker's two lists are not in the same order.
    return _words(AddressProvider.states_abbr)


@cache
def countries() -> pa.Array:
    return _words(AddressProvider.countries)


@cache
def country_codes() -> pa.Array:
    return _words(AddressProvider.alpha_2_country_codes)


@cache
def street_suffixes() -> pa.Array:
    return _words(AddressProvider.street_suffixes)


@cache
def city_prefixes() -> pa.Array:
    return _words(AddressProvider.city_prefixes)


@cache
def city_suffixes() -> pa.Array:
    return _words(AddressProvider.city_suffixes)


@cache
def company_suffixes() -> pa.Array:
    return _words(CompanyProvider.company_suffixes)


@cache
def genders() -> pa.Array:
    return pa.array(GENDERS, pa.string())


ByLength = tuple[pa.Array, npt.NDArray[np.int64], npt.NDArray[np.int64]]


@cache
def lower_first_names() -> pa.Array:
    """first_names() in lower case, in the same order (email local parts)."""
    return pc.utf8_lower(first_names())


@cache
def lower_last_names() -> pa.Array:
    return pc.utf8_lower(last_names())


@cache
def first_names_by_length() -> ByLength:
    return by_length(first_names())


@cache
def last_names_by_length() -> ByLength:
    return by_length(last_names())


def by_length(words: pa.Array) -> ByLength:
    """`words` ordered by length, with where each length starts and how many share it (indexed
    by length, up to the longest), so a pick can keep an input's length."""
    lengths = pc.utf8_length(words).to_numpy()
    order = np.argsort(lengths, kind="stable")
    counts = np.bincount(lengths, minlength=int(lengths.max()) + 1).astype(np.int64)
    starts = np.cumsum(counts) - counts
    return words.take(pa.array(order)), starts, counts
