"""Database driver messages without the row values they quote: the one scrub every copy path
applies before a driver's error reaches a log, an API response or Temporal history."""

import re

from services.common.db_urls import redact

# PostgreSQL's DETAIL and CONTEXT lines quote the row ("Key (email)=(ann@corp.com) already
# exists.", 'COPY people, line 4: "4,ann@corp.com"'), and so does "Failing row contains (...)".
_PG_ROW_LINES = re.compile(r"^\s*(?:DETAIL|CONTEXT|HINT):.*(?:\n|$)", re.MULTILINE)
_PG_KEY_VALUES = re.compile(r"(Key \([^)]*\))=\(.*?\)(?= already exists| is not present|\.|$)")
_PG_FAILING_ROW = re.compile(r"Failing row contains \(.*\)\.?")
# MySQL quotes values in its messages ("Duplicate entry 'ann@corp.com' for key ...",
# "Incorrect integer value: 'x' for column ...").
_MYSQL_VALUES = re.compile(r"(?<=entry )'(?:[^'\\]|\\.)*' ?|(?<=value): '(?:[^'\\]|\\.)*'")


def scrub_driver_error(text: str) -> str:
    """The message with URL passwords and quoted row values removed."""
    text = _PG_ROW_LINES.sub("", redact(text))
    text = _PG_KEY_VALUES.sub(r"\1", text)
    text = _PG_FAILING_ROW.sub("", text)
    return _MYSQL_VALUES.sub("", text).strip()
