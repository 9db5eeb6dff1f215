"""Word lists the generators draw from, read once per process from the data files beside this
module (data/*.txt). They were copied from Faker once and are never read from it at run time:
keyed outputs index these lists, so a Faker upgrade must not change them."""

from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

# RFC 2606 domains: never delivered, so an anonymized address can never reach a person.
SAFE_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
GENDERS = ("female", "male", "non-binary", "unknown")


def _words(name: str) -> pa.Array:
    """data/<name>.txt in file order (the order outputs index), less its '#' header lines."""
    text = resources.files(__package__).joinpath("data", f"{name}.txt").read_text("utf-8")
    return pa.array([w for w in text.splitlines() if w and not w.startswith("#")], pa.string())


@cache
def first_names() -> pa.Array:
    return _words("first_names")


@cache
def last_names() -> pa.Array:
    return _words("last_names")


@cache
def safe_email_domains() -> pa.Array:
    return pa.array(SAFE_EMAIL_DOMAINS, pa.string())


@cache
def states() -> pa.Array:
    return _words("states")


@cache
def state_codes() -> pa.Array:
    # Drawn independently of states(): the two lists are not in the same order.
    return _words("state_codes")


@cache
def countries() -> pa.Array:
    return _words("countries")


@cache
def country_codes() -> pa.Array:
    return _words("country_codes")


@cache
def street_suffixes() -> pa.Array:
    return _words("street_suffixes")


@cache
def city_prefixes() -> pa.Array:
    return _words("city_prefixes")


@cache
def city_suffixes() -> pa.Array:
    return _words("city_suffixes")


@cache
def company_suffixes() -> pa.Array:
    return _words("company_suffixes")


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
