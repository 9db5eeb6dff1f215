"""Logging setup shared by every process, with passwords scrubbed from every record."""

import logging
import re

_URL_PASSWORD = re.compile(r"(?P<prefix>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@", re.IGNORECASE)


def scrub(text: str) -> str:
    """The text with the password of any URL in it replaced by ***."""
    return _URL_PASSWORD.sub(r"\g<prefix>***@", text)


class ScrubSecretsFilter(logging.Filter):
    """Rewrites each record's message so that no URL password reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(ScrubSecretsFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
