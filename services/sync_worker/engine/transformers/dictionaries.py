"""Word lists the generators draw from, built once per process from Faker's data files."""

from functools import cache

from faker.providers.person.en_US import Provider as PersonProvider

SAFE_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")  # RFC 2606: never delivered


@cache
def first_names() -> tuple[str, ...]:
    return tuple(sorted(set(PersonProvider.first_names)))


@cache
def last_names() -> tuple[str, ...]:
    return tuple(sorted(set(PersonProvider.last_names)))
