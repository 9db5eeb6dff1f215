"""Which columns of a table could single a person out in combination: declared in the job's
privacy policy, or detected by name when planning. Pure: names and schema only."""

import re

from services.common.errors import InvalidArgumentError
from services.engine.inspect.pii import detect, normalize
from services.engine.planning.table_plans import resolve_table
from services.engine.schema import Schema, Table
from veilsync.v1 import job_pb2

# The classic quasi-identifiers (zip code, birth date and gender single out most people in
# census data) and their usual companions.
_QUASI = re.compile(
    r"(?:^|_)(?:zip(?:_?code)?|postal_?code|post_?code|postcode|dob|birth_?date"
    r"|date_?of_?birth|birthday|birth_?year|year_?of_?birth|gender|sex|age|city|town"
    r"|nationality|ethnicity|race|marital_?status)(?:$|_)"
)


def declared(policy: job_pb2.PrivacyPolicy, schema: Schema) -> dict[str, list[str]]:
    """The policy's quasi-identifiers by qualified table; InvalidArgumentError names the
    entry whose table or column the source lacks."""
    found: dict[str, list[str]] = {}
    for i, entry in enumerate(policy.quasi_identifiers):
        field = f"job.privacy.quasi_identifiers[{i}]"
        table = resolve_table(schema, entry.table, f"{field}.table")
        for j, column in enumerate(entry.columns):
            if table.column(column) is None:
                raise InvalidArgumentError(
                    f"{field}.columns[{j}]", f"{table.qualified} has no column {column!r}"
                )
        found[table.qualified] = list(entry.columns)
    return found


def detected(table: Table) -> list[str]:
    """The table's columns named like quasi-identifiers, when the table looks like it is about
    people: two of them, or one beside another column that reads as personal data. A lookup
    table of cities alone has k = 1 by construction and says nothing about anyone. The primary
    key is never one: it identifies outright, and a city table's city_id is no city."""
    quasi = [
        c.name
        for c in table.columns
        if c.name not in table.primary_key and _QUASI.search(normalize(c.name))
    ]
    if len(quasi) >= 2:
        return quasi
    personal = any(
        c.name not in quasi and detect(c.name, c.family) is not None for c in table.columns
    )
    return quasi if quasi and personal else []


def of(table: Table, declared: dict[str, list[str]]) -> tuple[list[str], bool]:
    """The table's quasi-identifiers and whether the job declared them (`declared` from
    declared()): the job's word wins, even an empty list."""
    if table.qualified in declared:
        return declared[table.qualified], True
    return detected(table), False
