"""Word lists the generators draw from, built once per process from Faker's data files."""

from functools import cache

import pyarrow as pa
from faker.providers.person.en_US import Provider as PersonProvider

# RFC 2606 domains: never delivered, so an anonymized address can never reach a person.
SAFE_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")


@cache
def first_names() -> pa.Array:
    return pa.array(sorted(set(PersonProvider.first_names)), pa.string())


@cache
def last_names() -> pa.Array:
    return pa.array(sorted(set(PersonProvider.last_names)), pa.string())


@cache
def safe_email_domains() -> pa.Array:
    return pa.array(SAFE_EMAIL_DOMAINS, pa.string())
